// One downstream port of the PIFS-Rec switch: the S2M ingress (CRC check, slot unpacking, line
// assembly) feeding, through the row-format dequantisation stage (pifs_dequant; a zero-latency
// pass-through for fp32 rows), the port accumulator. This is the top level the Rust bindings
// drive.
module pifs_port_top
  import pifs_pkg::*;
#(
  parameter int unsigned NumBags     = 16,
  parameter int unsigned MaxRowLines = 8,
  parameter int unsigned NumTags     = 256,
  parameter int unsigned ResDepth    = 4,
  parameter int unsigned RetryTimeout = 256,  // link-layer retry: cycles between RETRY.Req
  parameter int unsigned AckEvery     = 8,    // link-layer retry: flits per acknowledgement
  parameter int unsigned HitIn        = 0     // 1: the hit_* line input exists (a row buffer)
) (
  input  logic               clk_i,
  input  logic               rst_ni,

  // S2M link-layer flits from the memory device (valid/ready).
  input  logic               flit_valid_i,
  output logic               flit_ready_o,
  input  logic [FlitW-1:0]   flit_i,

  // Host commands (valid/ready; format in pifs_pkg).
  input  logic               cmd_valid_i,
  output logic               cmd_ready_o,
  input  logic [CmdW-1:0]    cmd_i,

  // Partial sums toward the upstream port (valid/ready).
  output logic               res_valid_o,
  input  logic               res_ready_i,
  output logic [7:0]         res_bag_o,
  output logic [3:0]         res_line_o,
  output logic               res_last_o,
  output logic               res_poison_o,
  output logic [LineW-1:0]   res_data_o,

  // Monitor of the accumulation order, and event pulses.
  output logic               mon_valid_o,
  output logic [7:0]         mon_bag_o,
  output logic [3:0]         mon_line_o,
  output logic               mon_part_o,
  output logic               crc_err_o,
  output logic               proto_err_o,
  output logic [1:0]         ndr_o,
  output logic               cmd_err_o,
  output logic               tag_err_o,
  output logic               busy_o,

  // Second line input of the accumulator (HitIn = 1): lines from the switch's row buffer
  // (valid/ready), taken in a cycle in which the ingress hands over no line (the ingress has
  // priority) and the dequantiser is ready (always, for fp32 rows). With HitIn = 0 the inputs
  // are ignored and hit_ready_o is low.
  input  logic               hit_valid_i,
  output logic               hit_ready_o,
  input  logic [TagW-1:0]    hit_tag_i,
  input  logic [LineW-1:0]   hit_data_i,

  // The ingress lines the dequantiser takes (the row buffer's fills: raw device lines), and the
  // tag of the line the accumulator takes in this cycle (after the dequantiser; valid with
  // mon_valid_o or tag_err_o).
  output logic               fill_valid_o,
  output logic [TagW-1:0]    fill_tag_o,
  output logic               fill_poison_o,
  output logic [LineW-1:0]   fill_data_o,
  output logic [TagW-1:0]    line_tag_o,

  // Link-layer retry of the S2M link (see pifs_s2m_ingress): enable, and the receiver's
  // RETRY.Req / acknowledgements for the device's sender.
  input  logic               llr_en_i,
  output logic               llr_valid_o,
  output logic               llr_req_o,
  output logic [LlrSeqW-1:0] llr_seq_o,
  output logic               llr_discard_o,

  // Row format (static, see pifs_dequant): 0 fp32 (3 too), 1 fp16, 2 int8 row-wise; and the
  // accumulator lines per device line (0 is taken as 1). The device lines (and the row buffer's
  // fills) stay raw; the accumulator gets the binary32 lines.
  input  logic [1:0]         fmt_i,
  input  logic [2:0]         fmt_exp_i
);

  logic              line_valid;
  logic              line_ready;
  logic [TagW-1:0]   line_tag;
  logic              line_poison;
  logic [LineW-1:0]  line_data;
  logic              acc_busy;
  logic              ingress_busy;
  logic              acc_line_valid, acc_line_ready, acc_line_poison;
  logic [TagW-1:0]   acc_line_tag;
  logic [LineW-1:0]  acc_line_data;
  logic              dq_in_valid, dq_in_ready, dq_in_poison;
  logic [TagW-1:0]   dq_in_tag;
  logic [LineW-1:0]  dq_in_data;
  logic              dq_busy;

  pifs_s2m_ingress #(
    .RetryTimeout (RetryTimeout),
    .AckEvery     (AckEvery)
  ) u_ingress (
    .clk_i,
    .rst_ni,
    .flit_valid_i,
    .flit_ready_o,
    .flit_i,
    .line_valid_o  (line_valid),
    .line_ready_i  (line_ready),
    .line_tag_o    (line_tag),
    .line_poison_o (line_poison),
    .line_data_o   (line_data),
    .crc_err_o,
    .proto_err_o,
    .ndr_o,
    .busy_o        (ingress_busy),
    .llr_en_i,
    .llr_valid_o,
    .llr_req_o,
    .llr_seq_o,
    .llr_discard_o
  );

  pifs_port_acc #(
    .NumBags     (NumBags),
    .MaxRowLines (MaxRowLines),
    .NumTags     (NumTags),
    .ResDepth    (ResDepth)
  ) u_acc (
    .clk_i,
    .rst_ni,
    .cmd_valid_i,
    .cmd_ready_o,
    .cmd_i,
    .line_valid_i  (acc_line_valid),
    .line_ready_o  (acc_line_ready),
    .line_tag_i    (acc_line_tag),
    .line_poison_i (acc_line_poison),
    .line_data_i   (acc_line_data),
    .res_valid_o,
    .res_ready_i,
    .res_bag_o,
    .res_line_o,
    .res_last_o,
    .res_poison_o,
    .res_data_o,
    .mon_valid_o,
    .mon_bag_o,
    .mon_line_o,
    .mon_part_o,
    .cmd_err_o,
    .tag_err_o,
    .busy_o        (acc_busy)
  );

  // The dequantiser's line input: the ingress line if there is one, else the buffer's.
  if (HitIn != 0) begin : gen_hit_mux
    assign dq_in_valid  = line_valid || hit_valid_i;
    assign dq_in_tag    = line_valid ? line_tag : hit_tag_i;
    assign dq_in_poison = line_valid && line_poison;
    assign dq_in_data   = line_valid ? line_data : hit_data_i;
    assign hit_ready_o  = dq_in_ready && !line_valid;
  end else begin : gen_no_hit
    assign dq_in_valid  = line_valid;
    assign dq_in_tag    = line_tag;
    assign dq_in_poison = line_poison;
    assign dq_in_data   = line_data;
    assign hit_ready_o  = 1'b0;
    logic unused_hit;
    assign unused_hit = ^{hit_valid_i, hit_tag_i, hit_data_i};
  end
  assign line_ready = dq_in_ready;

  // Row-format dequantisation between the line mux and the accumulator (fp32: plain wires).
  pifs_dequant u_dequant (
    .clk_i,
    .rst_ni,
    .fmt_i,
    .exp_i        (fmt_exp_i),
    .in_valid_i   (dq_in_valid),
    .in_ready_o   (dq_in_ready),
    .in_tag_i     (dq_in_tag),
    .in_poison_i  (dq_in_poison),
    .in_data_i    (dq_in_data),
    .out_valid_o  (acc_line_valid),
    .out_tag_o    (acc_line_tag),
    .out_poison_o (acc_line_poison),
    .out_data_o   (acc_line_data),
    .busy_o       (dq_busy)
  );

  // The accumulator takes a line in every cycle (line_ready_o is constant high).
  logic unused_acc_ready;
  assign unused_acc_ready = acc_line_ready;

  assign fill_valid_o  = line_valid && line_ready;
  assign fill_tag_o    = line_tag;
  assign fill_poison_o = line_poison;
  assign fill_data_o   = line_data;
  assign line_tag_o    = acc_line_tag;

  // The port is busy while the accumulator, the dequantiser or the ingress holds anything.
  assign busy_o = acc_busy || dq_busy || ingress_busy;

  // A flit offered by the device stays offered, unchanged, until it transfers.
  FlitStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    flit_valid_i && !flit_ready_o |=> flit_valid_i && $stable(flit_i));
  // A command offered by the host stays offered, unchanged, until it transfers.
  CmdStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    cmd_valid_i && !cmd_ready_o |=> cmd_valid_i && $stable(cmd_i));

endmodule
