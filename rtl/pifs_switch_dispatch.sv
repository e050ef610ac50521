// Command dispatcher of one downstream port: a command FIFO, then the port accumulator's command
// stream and the port's M2S MemRd request stream.
//
// BagOpen and RowMap words go to the accumulator unchanged. A RowRead (bag, tag, lines, line)
// becomes the RowMap word (bag, tag) for the accumulator and, if the accumulator accepts it
// (no cmd_err pulse in that cycle), a read job: `lines` MemRd requests, line l with tag
// tag + l * S at byte address (line + l) * 64, one per cycle in order. S is the number of
// accumulator lines per device line: fmt_exp_i (0 taken as 1) for fp16 and int8 rows (fmt_i 1,
// 2; the port's pifs_dequant turns device line l into the accumulator lines tag + l * S + k),
// 1 for fp32 rows. A rejected row issues no reads (its
// data could otherwise land on a tag that a later row maps). Commands leave in FIFO order.
//
// Timing (no stalls): a command taken from the host in cycle t reaches the accumulator in t+1;
// the first MemRd of a RowRead leaves in t+2. Read jobs queue in a 2-entry FIFO, so the next
// RowRead is mapped while the previous row's reads go out: back-to-back rows issue one MemRd
// per cycle for every row size.
module pifs_switch_dispatch
  import pifs_pkg::*;
#(
  parameter int unsigned CmdDepth    = 4,  // command FIFO entries, >= 1
  parameter int unsigned MaxRowLines = 8   // largest RowRead (the top checks the lines field)
) (
  input  logic             clk_i,
  input  logic             rst_ni,

  // Host commands for this port (format in pifs_pkg, port field zero): BagOpen, RowMap,
  // RowRead with 1 .. MaxRowLines lines. Valid/ready; ready while the command FIFO has room.
  input  logic             cmd_valid_i,
  output logic             cmd_ready_o,
  input  logic [CmdW-1:0]  cmd_i,

  // Command words to the port accumulator (BagOpen, RowMap). Valid/ready. acc_err_i is the
  // accumulator's error pulse for the word offered in the same cycle.
  output logic             acc_valid_o,
  input  logic             acc_ready_i,
  output logic [CmdW-1:0]  acc_cmd_o,
  input  logic             acc_err_i,

  // M2S MemRd requests of this port: CXL tag and byte address (64-byte aligned). Valid/ready.
  output logic             rd_valid_o,
  input  logic             rd_ready_i,
  output logic [TagW-1:0]  rd_tag_o,
  output logic [AddrW-1:0] rd_addr_o,

  output logic             busy_o,     // commands queued or reads pending

  // Row format (static; see pifs_dequant): 0 fp32 (3 too), 1 fp16, 2 int8; lines per device
  // line (0 taken as 1).
  input  logic [1:0]       fmt_i,
  input  logic [2:0]       fmt_exp_i
);

  localparam int unsigned JobDepth = 2;  // a row being read plus the next one mapped

  typedef struct packed {
    logic [7:0]           tag;
    logic [3:0]           lines;
    logic [LineAddrW-1:0] line;
  } rd_job_t;

  if (MaxRowLines < 1 || MaxRowLines > 15) begin : gen_bad_lines
    $fatal(1, "MaxRowLines must be 1..15 (4-bit lines field)");
  end

  // ---------------------------------------------------------------------------------------------
  // Command FIFO and decode of its head
  // ---------------------------------------------------------------------------------------------
  logic            head_valid, head_ready;
  logic [CmdW-1:0] head;
  logic            head_is_read;

  pifs_fifo #(
    .Width (CmdW),
    .Depth (CmdDepth)
  ) u_cmd_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (cmd_valid_i),
    .in_ready_o  (cmd_ready_o),
    .in_data_i   (cmd_i),
    .out_valid_o (head_valid),
    .out_ready_i (head_ready),
    .out_data_o  (head)
  );

  assign head_is_read = cmd_op_e'(head[63:60]) == CmdRowRead;

  // ---------------------------------------------------------------------------------------------
  // To the accumulator: a RowRead waits until the job FIFO has room for its reads.
  // ---------------------------------------------------------------------------------------------
  logic    job_in_valid, job_in_ready;
  rd_job_t job_in;

  assign acc_valid_o  = head_valid && (!head_is_read || job_in_ready);
  assign head_ready   = acc_ready_i && (!head_is_read || job_in_ready);
  assign acc_cmd_o    = head_is_read ? {CmdRowMap, 4'h0, 4'h0, head[55:52], 8'h00, head[47:40],
                                        32'h0000_0000}
                                     : head;
  assign job_in_valid = acc_valid_o && acc_ready_i && head_is_read && !acc_err_i;
  assign job_in       = '{tag: head[47:40], lines: head[51:48], line: head[LineAddrW-1:0]};

  // ---------------------------------------------------------------------------------------------
  // Read engine: the head job's lines, one MemRd per cycle.
  // ---------------------------------------------------------------------------------------------
  // Tag step between a row's device lines, from the configuration registered (the read engine
  // then reads no configuration pin).
  logic [2:0] step_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      step_q <= 3'd1;
    end else if ((fmt_i == 2'd1 || fmt_i == 2'd2) && fmt_exp_i != '0) begin
      step_q <= fmt_exp_i;
    end else begin
      step_q <= 3'd1;
    end
  end

  logic                 job_valid, job_pop;
  rd_job_t              job;
  logic [3:0]           off_d, off_q;
  logic [LineAddrW:0]   rd_line;
  logic                 rd_fire, rd_done;

  pifs_fifo #(
    .Width ($bits(rd_job_t)),
    .Depth (JobDepth)
  ) u_job_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (job_in_valid),
    .in_ready_o  (job_in_ready),
    .in_data_i   (job_in),
    .out_valid_o (job_valid),
    .out_ready_i (job_pop),
    .out_data_o  (job)
  );

  assign rd_valid_o = job_valid;
  assign rd_tag_o   = TagW'(job.tag) + TagW'(off_q) * TagW'(step_q);
  assign rd_line    = (LineAddrW + 1)'(job.line) + (LineAddrW + 1)'(off_q);
  assign rd_addr_o  = AddrW'({rd_line, 6'b00_0000});
  assign rd_fire    = rd_valid_o && rd_ready_i;
  // A job reads ceil(lines / step) device lines: each widens to `step` binary32 lines.
  assign rd_done    = (32'(off_q) + 1) * 32'(step_q) >= 32'(job.lines);
  assign job_pop    = rd_fire && rd_done;
  assign off_d      = !rd_fire ? off_q : rd_done ? '0 : off_q + 4'd1;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      off_q <= '0;
    end else begin
      off_q <= off_d;
    end
  end

  assign busy_o = head_valid || job_valid;

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // A command offered by the host stays offered, unchanged, until it transfers.
  CmdStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    cmd_valid_i && !cmd_ready_o |=> cmd_valid_i && $stable(cmd_i));
  // A command word offered to the accumulator holds until it transfers.
  AccStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    acc_valid_o && !acc_ready_i |=> acc_valid_o && $stable(acc_cmd_o));
  // A MemRd request holds its tag and address until it transfers.
  RdStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    rd_valid_o && !rd_ready_i |=> rd_valid_o && $stable(rd_tag_o) && $stable(rd_addr_o));
  // Read jobs carry 1 .. MaxRowLines lines (the top drops other RowReads).
  JobLines_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    job_valid |-> job.lines != '0 && 32'(job.lines) <= MaxRowLines);

endmodule
