// The PIFS-Rec switch: NumPorts downstream ports (pifs_port_top, one accumulator each), their
// command dispatchers, and the upstream path that merges the ports' partial sums onto one link.
//
//   host command lane p ----------------> pifs_switch_dispatch[p] --> pifs_port_top[p] command port
//                                                               \--> MemRd requests of port p
//   S2M flits of port p ----------------------------------------> pifs_port_top[p] flit port
//   pifs_port_top[p] results --> pifs_switch_upstream (egress FIFO per port, round robin,
//                                credits) --> upstream stream {port, bag, line, last, poison, data}
//
// Each port has its own host command lane of 64-bit words (format in pifs_pkg), so the ports
// take commands in parallel at one word per cycle each (a single shared stream capped dispatch
// at one row per cycle for the whole switch). BagOpen and RowMap are forwarded to the port's
// accumulator with the port field cleared; RowRead is expanded by the port's dispatcher into a
// RowMap and the row's MemRd requests. A word whose port field is not its lane, an unknown op,
// or a RowRead whose lines field is not 1 .. MaxRowLines is taken and dropped, pulsing that
// lane's cmd_err_o. Errors the accumulator finds (slot in use, tags busy, reserved bits) pulse
// that port's port_cmd_err_o. Each port has its own command FIFO (CmdDepth).
module pifs_switch_top
  import pifs_pkg::*;
#(
  parameter int unsigned NumPorts    = 8,    // downstream ports, 1 .. 16
  parameter int unsigned NumBags     = 16,   // bag slots per port, 1 .. 16
  parameter int unsigned MaxRowLines = 8,    // largest row, in 64-byte lines
  parameter int unsigned NumTags     = 256,  // tags per port
  parameter int unsigned ResDepth    = 4,    // result FIFO of each accumulator
  parameter int unsigned CmdDepth    = 4,    // command FIFO of each port's dispatcher
  parameter int unsigned EgressDepth = 8,    // egress FIFO of each port on the upstream path
  parameter int unsigned UpCredits   = 32,   // upstream credits after reset
  parameter int unsigned CreditW     = 16,   // upstream credit counter width
  parameter int unsigned BufLines    = 0,    // row buffer lines per port (0 = no buffer)
  parameter int unsigned BufWays     = 4     // row buffer associativity
) (
  input  logic                           clk_i,
  input  logic                           rst_ni,

  // S2M link-layer flits from each port's memory device (valid/ready per port).
  input  logic [NumPorts-1:0]            flit_valid_i,
  output logic [NumPorts-1:0]            flit_ready_o,
  input  logic [NumPorts-1:0][FlitW-1:0] flit_i,

  // Host commands, one valid/ready lane per downstream port (the upstream port routes the
  // host's descriptor writes to the lane of their port, so every port can take a command each
  // cycle). cmd_ready_o[p] is high for a word that is dropped, and for a good word while port
  // p's command FIFO has room. A word on lane p must carry port p in its port field.
  input  logic [NumPorts-1:0]            cmd_valid_i,
  output logic [NumPorts-1:0]            cmd_ready_o,
  input  logic [NumPorts-1:0][CmdW-1:0]  cmd_i,
  output logic [NumPorts-1:0]            cmd_err_o,      // the word taken this cycle is dropped

  // M2S MemRd requests of each port (valid/ready per port): CXL tag and 64-byte-aligned byte
  // address; packing them into M2S flits is left to the link model.
  output logic [NumPorts-1:0]            memrd_valid_o,
  input  logic [NumPorts-1:0]            memrd_ready_i,
  output logic [NumPorts-1:0][TagW-1:0]  memrd_tag_o,
  output logic [NumPorts-1:0][AddrW-1:0] memrd_addr_o,

  // Upstream stream (valid/ready): partial-sum lines of all ports, round robin, one per credit.
  output logic                           up_valid_o,
  input  logic                           up_ready_i,
  output logic [PortW-1:0]               up_port_o,
  output logic [7:0]                     up_bag_o,
  output logic [3:0]                     up_line_o,
  output logic                           up_last_o,
  output logic                           up_poison_o,
  output logic [LineW-1:0]               up_data_o,
  input  logic                           up_credit_i,    // one credit per cycle high
  output logic [CreditW-1:0]             up_credits_o,   // credits available
  output logic                           up_wait_o,      // a line waits for a credit

  // Per-port event pulses (see pifs_port_top): CRC error, packing error, NDRs in the flit,
  // command rejected by the accumulator, line dropped, line accumulated, result held back by a
  // full egress FIFO.
  output logic [NumPorts-1:0]            port_crc_err_o,
  output logic [NumPorts-1:0]            port_proto_err_o,
  output logic [NumPorts-1:0][1:0]       port_ndr_o,
  output logic [NumPorts-1:0]            port_cmd_err_o,
  output logic [NumPorts-1:0]            port_tag_err_o,
  output logic [NumPorts-1:0]            port_line_o,
  output logic [NumPorts-1:0]            port_res_stall_o,
  output logic                           busy_o,         // anything queued or in flight

  // Link-layer retry of every S2M link (see pifs_s2m_ingress): enable (static), and per port the
  // receiver's RETRY.Req / acknowledgements (req = 1: RETRY.Req for seq = ESeq; 0: Ack of seq)
  // and the good flits discarded while waiting for a replay.
  input  logic                           llr_en_i,
  output logic [NumPorts-1:0]            port_llr_valid_o,
  output logic [NumPorts-1:0]            port_llr_req_o,
  output logic [NumPorts-1:0][LlrSeqW-1:0] port_llr_seq_o,
  output logic [NumPorts-1:0]            port_llr_discard_o,

  // Row buffer of every port (BufLines > 0; see pifs_switch_buffer), static configuration: on,
  // sets used minus one, policy (0 LRU, 1 hot). Per port: lookup hit, lookup miss, fill
  // bypassed, fill evicted a line; and the tag of the line each accumulator takes this cycle
  // (valid with port_line_o), which records the accumulation order.
  input  logic                           buf_en_i,
  input  logic [15:0]                    buf_set_mask_i,
  input  logic                           buf_policy_i,
  output logic [NumPorts-1:0]            port_buf_hit_o,
  output logic [NumPorts-1:0]            port_buf_miss_o,
  output logic [NumPorts-1:0]            port_buf_bypass_o,
  output logic [NumPorts-1:0]            port_buf_evict_o,
  output logic [NumPorts-1:0][TagW-1:0]  port_line_tag_o,

  // Row format of every port (static, see pifs_dequant): 0 fp32 (3 too), 1 fp16, 2 int8
  // row-wise; accumulator lines per device line (0 is taken as 1). The dispatchers space the
  // tags of a RowRead's device lines by that many (fp16, int8) and the ports dequantise.
  input  logic [1:0]                     fmt_i,
  input  logic [2:0]                     fmt_exp_i
);

  if (NumPorts < 1 || NumPorts > 16) begin : gen_bad_ports
    $fatal(1, "NumPorts must be 1..16 (4-bit port field)");
  end
  if (NumBags < 1 || NumBags > 16) begin : gen_bad_bags
    $fatal(1, "NumBags must be 1..16 (4-bit RowRead bag field)");
  end

  // ---------------------------------------------------------------------------------------------
  // Host command decode and routing
  // ---------------------------------------------------------------------------------------------
  logic [NumPorts-1:0]           cmd_bad;
  logic [NumPorts-1:0][CmdW-1:0] cmd_fwd;
  logic [NumPorts-1:0]           disp_valid, disp_ready;

  for (genvar p = 0; p < NumPorts; p++) begin : gen_cmd
    cmd_op_e          cmd_op;
    logic [PortW-1:0] cmd_port;
    logic [3:0]       cmd_rd_lines;

    assign cmd_op       = cmd_op_e'(cmd_i[p][63:60]);
    assign cmd_port     = cmd_i[p][CmdPortLo +: PortW];
    assign cmd_rd_lines = cmd_i[p][51:48];
    assign cmd_fwd[p]   = {cmd_i[p][63:60], PortW'(0), cmd_i[p][CmdPortLo-1:0]};

    always_comb begin
      unique case (cmd_op)
        CmdBagOpen, CmdRowMap: cmd_bad[p] = 1'b0;
        CmdRowRead:            cmd_bad[p] = cmd_rd_lines == '0 ||
                                            32'(cmd_rd_lines) > MaxRowLines;
        default:               cmd_bad[p] = 1'b1;
      endcase
      if (32'(cmd_port) != p) begin
        cmd_bad[p] = 1'b1;
      end
    end

    assign disp_valid[p]  = cmd_valid_i[p] && !cmd_bad[p];
    assign cmd_ready_o[p] = cmd_bad[p] || disp_ready[p];
    assign cmd_err_o[p]   = cmd_valid_i[p] && cmd_bad[p];
  end

  // ---------------------------------------------------------------------------------------------
  // Ports: dispatcher and accumulator
  // ---------------------------------------------------------------------------------------------
  logic [NumPorts-1:0] res_valid, res_ready, port_busy, disp_busy, buf_busy;
  res_line_t [NumPorts-1:0] res_line;
  logic                up_busy;

  for (genvar p = 0; p < NumPorts; p++) begin : gen_port
    logic            acc_valid, acc_ready, acc_err;
    logic [CmdW-1:0] acc_cmd;
    logic            mon_valid;
    logic [7:0]      mon_bag;
    logic [3:0]      mon_line;
    logic            mon_part;
    logic             rd_valid, rd_ready;
    logic [TagW-1:0]  rd_tag;
    logic [AddrW-1:0] rd_addr;
    logic             hit_valid, hit_ready;
    logic [TagW-1:0]  hit_tag;
    logic [LineW-1:0] hit_data;
    logic             fill_valid, fill_poison;
    logic [TagW-1:0]  fill_tag;
    logic [LineW-1:0] fill_data;

    pifs_switch_dispatch #(
      .CmdDepth    (CmdDepth),
      .MaxRowLines (MaxRowLines)
    ) u_dispatch (
      .clk_i,
      .rst_ni,
      .cmd_valid_i (disp_valid[p]),
      .cmd_ready_o (disp_ready[p]),
      .cmd_i       (cmd_fwd[p]),
      .acc_valid_o (acc_valid),
      .acc_ready_i (acc_ready),
      .acc_cmd_o   (acc_cmd),
      .acc_err_i   (acc_err),
      .rd_valid_o  (rd_valid),
      .rd_ready_i  (rd_ready),
      .rd_tag_o    (rd_tag),
      .rd_addr_o   (rd_addr),
      .busy_o      (disp_busy[p]),
      .fmt_i,
      .fmt_exp_i
    );

    // The row buffer between the read engine and the port's MemRd stream, or plain wires.
    if (BufLines > 0) begin : gen_buf
      pifs_switch_buffer #(
        .Lines   (BufLines),
        .Ways    (BufWays),
        .NumTags (NumTags)
      ) u_buffer (
        .clk_i,
        .rst_ni,
        .en_i          (buf_en_i),
        .set_mask_i    (buf_set_mask_i),
        .policy_i      (buf_policy_i),
        .req_valid_i   (rd_valid),
        .req_ready_o   (rd_ready),
        .req_tag_i     (rd_tag),
        .req_addr_i    (rd_addr),
        .miss_valid_o  (memrd_valid_o[p]),
        .miss_ready_i  (memrd_ready_i[p]),
        .miss_tag_o    (memrd_tag_o[p]),
        .miss_addr_o   (memrd_addr_o[p]),
        .hit_valid_o   (hit_valid),
        .hit_ready_i   (hit_ready),
        .hit_tag_o     (hit_tag),
        .hit_data_o    (hit_data),
        .fill_valid_i  (fill_valid),
        .fill_tag_i    (fill_tag),
        .fill_poison_i (fill_poison),
        .fill_data_i   (fill_data),
        .hit_o         (port_buf_hit_o[p]),
        .miss_o        (port_buf_miss_o[p]),
        .bypass_o      (port_buf_bypass_o[p]),
        .evict_o       (port_buf_evict_o[p]),
        .busy_o        (buf_busy[p])
      );
    end else begin : gen_no_buf
      assign memrd_valid_o[p]     = rd_valid;
      assign rd_ready             = memrd_ready_i[p];
      assign memrd_tag_o[p]       = rd_tag;
      assign memrd_addr_o[p]      = rd_addr;
      assign hit_valid            = 1'b0;
      assign hit_tag              = '0;
      assign hit_data             = '0;
      assign port_buf_hit_o[p]    = 1'b0;
      assign port_buf_miss_o[p]   = 1'b0;
      assign port_buf_bypass_o[p] = 1'b0;
      assign port_buf_evict_o[p]  = 1'b0;
      assign buf_busy[p]          = 1'b0;
      logic unused_fill;
      assign unused_fill = ^{hit_ready, fill_valid, fill_tag, fill_poison, fill_data};
    end

    pifs_port_top #(
      .NumBags     (NumBags),
      .MaxRowLines (MaxRowLines),
      .NumTags     (NumTags),
      .ResDepth    (ResDepth),
      .HitIn       (BufLines > 0 ? 1 : 0)
    ) u_port (
      .clk_i,
      .rst_ni,
      .flit_valid_i (flit_valid_i[p]),
      .flit_ready_o (flit_ready_o[p]),
      .flit_i       (flit_i[p]),
      .cmd_valid_i  (acc_valid),
      .cmd_ready_o  (acc_ready),
      .cmd_i        (acc_cmd),
      .res_valid_o  (res_valid[p]),
      .res_ready_i  (res_ready[p]),
      .res_bag_o    (res_line[p].bag),
      .res_line_o   (res_line[p].line),
      .res_last_o   (res_line[p].last),
      .res_poison_o (res_line[p].poison),
      .res_data_o   (res_line[p].data),
      .mon_valid_o  (mon_valid),
      .mon_bag_o    (mon_bag),
      .mon_line_o   (mon_line),
      .mon_part_o   (mon_part),
      .crc_err_o    (port_crc_err_o[p]),
      .proto_err_o  (port_proto_err_o[p]),
      .ndr_o        (port_ndr_o[p]),
      .cmd_err_o    (port_cmd_err_o[p]),
      .tag_err_o    (port_tag_err_o[p]),
      .busy_o       (port_busy[p]),
      .hit_valid_i  (hit_valid),
      .hit_ready_o  (hit_ready),
      .hit_tag_i    (hit_tag),
      .hit_data_i   (hit_data),
      .fill_valid_o (fill_valid),
      .fill_tag_o   (fill_tag),
      .fill_poison_o(fill_poison),
      .fill_data_o  (fill_data),
      .line_tag_o   (port_line_tag_o[p]),
      .llr_en_i,
      .llr_valid_o  (port_llr_valid_o[p]),
      .llr_req_o    (port_llr_req_o[p]),
      .llr_seq_o    (port_llr_seq_o[p]),
      .llr_discard_o(port_llr_discard_o[p]),
      .fmt_i,
      .fmt_exp_i
    );

    assign acc_err             = port_cmd_err_o[p];
    assign port_line_o[p]      = mon_valid;
    assign port_res_stall_o[p] = res_valid[p] && !res_ready[p];

    // The accumulation order is observed at pifs_port_top level; only the line count is used.
    logic unused_mon;
    assign unused_mon = ^{mon_bag, mon_line, mon_part};
  end

  // ---------------------------------------------------------------------------------------------
  // Upstream: egress FIFOs, round robin, credits
  // ---------------------------------------------------------------------------------------------
  res_line_t up_line;

  pifs_switch_upstream #(
    .NumPorts    (NumPorts),
    .EgressDepth (EgressDepth),
    .UpCredits   (UpCredits),
    .CreditW     (CreditW)
  ) u_upstream (
    .clk_i,
    .rst_ni,
    .res_valid_i (res_valid),
    .res_ready_o (res_ready),
    .res_i       (res_line),
    .up_valid_o,
    .up_ready_i,
    .up_port_o,
    .up_line_o   (up_line),
    .up_credit_i,
    .credits_o   (up_credits_o),
    .wait_o      (up_wait_o),
    .busy_o      (up_busy)
  );

  assign up_bag_o    = up_line.bag;
  assign up_line_o   = up_line.line;
  assign up_last_o   = up_line.last;
  assign up_poison_o = up_line.poison;
  assign up_data_o   = up_line.data;

  assign busy_o = (|port_busy) || (|disp_busy) || (|buf_busy) || up_busy;

  if (BufLines == 0) begin : gen_no_buf_cfg
    logic unused_buf_cfg;
    assign unused_buf_cfg = ^{buf_en_i, buf_set_mask_i, buf_policy_i};
  end

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // A command offered by the host stays offered, unchanged, until it transfers.
  for (genvar p = 0; p < NumPorts; p++) begin : gen_cmd_sva
    HostCmdStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      cmd_valid_i[p] && !cmd_ready_o[p] |=> cmd_valid_i[p] && $stable(cmd_i[p]));
  end
  // The upstream, MemRd and per-port command streams are checked inside pifs_switch_upstream
  // and pifs_switch_dispatch; the flit streams inside pifs_port_top.

endmodule
