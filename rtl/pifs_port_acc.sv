// Downstream-port accumulator: sums the 64-byte MemData lines of each bag, 16 binary32 lanes per
// line, and sends one partial-sum line per row line of the bag upstream when the bag is complete.
//
// Command interface (cmd_*, one word per cycle, format in pifs_pkg):
//   BagOpen bag, rows, lines  opens a bag slot: `rows` rows of `lines` 64-byte lines each.
//   RowMap  bag, tag          the row's line l will arrive with CXL tag `tag + l` (at most
//                             `rows` RowMaps per bag; more are rejected).
// Responses may arrive in any tag order; many bags may be in flight (NumBags slots).
//
// Summation order and the adder-pipeline hazard: the binary32 adder has two pipeline stages, so
// a line cannot be added to a sum whose previous addition is still in the pipeline. Each (bag,
// line) keeps two partial sums, both starting at +0.0; the k-th line arriving for (bag, line)
// goes to partial k mod 2, and a write-back of the same partial in the same cycle is forwarded
// to the adder input. Consecutive lines in the same lanes therefore never wait: line rate is one
// line per cycle for every row size and bag length. When all rows have arrived the two partials
// are added (P0 + P1) by a second adder row and the result leaves on the res_* stream. So the sum
// of a line is  (((+0 + x0) + x2) + x4 ...) + (((+0 + x1) + x3) + ...)  in arrival order; the
// mon_* outputs report that order for the reference model. An empty bag sums to +0.0. NaN
// results are the canonical quiet NaN 0x7FC00000 (see pifs_fp32_add).
module pifs_port_acc
  import pifs_pkg::*;
#(
  parameter int unsigned NumBags     = 16,   // bag slots in flight
  parameter int unsigned MaxRowLines = 8,    // largest row, in 64-byte lines (dim <= 16 * this)
  parameter int unsigned NumTags     = 256,  // tags 0 .. NumTags-1 may be mapped
  parameter int unsigned ResDepth    = 4     // result FIFO entries (>= 3 for full throughput)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,

  // Host commands. Always accepted (cmd_ready_o is high out of reset).
  input  logic                 cmd_valid_i,
  output logic                 cmd_ready_o,
  input  logic [CmdW-1:0]      cmd_i,

  // MemData lines from the ingress. Always accepted: one line per cycle.
  input  logic                 line_valid_i,
  output logic                 line_ready_o,
  input  logic [TagW-1:0]      line_tag_i,
  input  logic                 line_poison_i,
  input  logic [LineW-1:0]     line_data_i,

  // Partial sums toward the upstream port: one line per row line of a bag, line 0 first;
  // res_last_o marks the bag's final line. Valid/ready stream.
  output logic                 res_valid_o,
  input  logic                 res_ready_i,
  output logic [7:0]           res_bag_o,
  output logic [3:0]           res_line_o,
  output logic                 res_last_o,
  output logic                 res_poison_o,    // some line of the bag was poisoned
  output logic [LineW-1:0]     res_data_o,

  // Monitor: the line accepted this cycle and the partial sum it goes to.
  output logic                 mon_valid_o,
  output logic [7:0]           mon_bag_o,
  output logic [3:0]           mon_line_o,
  output logic                 mon_part_o,

  // Error pulses: a command that breaks the rules (ignored); a line with an unmapped tag, or for
  // a bag that is not live, dropped.
  output logic                 cmd_err_o,
  output logic                 tag_err_o,
  output logic                 busy_o          // bags open, sums in flight or results queued
);

  localparam int unsigned BagW  = (NumBags > 1) ? $clog2(NumBags) : 1;
  localparam int unsigned LineIW = (MaxRowLines > 1) ? $clog2(MaxRowLines) : 1;
  localparam int unsigned TagIW = (NumTags > 1) ? $clog2(NumTags) : 1;
  localparam int unsigned CntW  = 16 + 4;  // rows * lines
  localparam int unsigned ResCntW = $clog2(ResDepth + 1);
  localparam int unsigned ResPtrW = (ResDepth > 1) ? $clog2(ResDepth) : 1;

  if (NumBags < 1 || NumBags > 256) begin : gen_bad_bags
    $fatal(1, "NumBags must be 1..256 (8-bit bag field)");
  end
  if (MaxRowLines < 1 || MaxRowLines > 15) begin : gen_bad_lines
    $fatal(1, "MaxRowLines must be 1..15 (4-bit lines field)");
  end
  if (NumTags < 1 || NumTags > 65536) begin : gen_bad_tags
    $fatal(1, "NumTags must be 1..65536");
  end
  if (ResDepth < 3) begin : gen_bad_res
    $fatal(1, "ResDepth must be >= 3 (two sums in flight plus one queued)");
  end

  // ---------------------------------------------------------------------------------------------
  // Command decode
  // ---------------------------------------------------------------------------------------------
  cmd_op_e          cmd_op;
  logic [7:0]       cmd_bag;
  logic [TagW-1:0]  cmd_tag;
  logic [15:0]      cmd_rows;
  logic [3:0]       cmd_lines;
  assign cmd_op    = cmd_op_e'(cmd_i[63:60]);
  assign cmd_bag   = cmd_i[55:48];
  assign cmd_tag   = cmd_i[47:32];
  assign cmd_rows  = cmd_i[31:16];
  assign cmd_lines = cmd_i[3:0];
  logic cmd_rsvd_ok;
  assign cmd_rsvd_ok = cmd_i[59:56] == '0 && cmd_i[15:4] == '0;
  assign cmd_ready_o  = 1'b1;
  assign line_ready_o = 1'b1;

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------
  typedef struct packed {
    logic              valid;
    logic [BagW-1:0]   bag;
    logic [LineIW-1:0] line;
  } tag_entry_t;

  tag_entry_t [NumTags-1:0]     tags_d, tags_q;
  logic [NumBags-1:0]           open_d, open_q;
  logic [NumBags-1:0]           cmpl_d, cmpl_q;       // all lines written, waiting for reduce
  logic [NumBags-1:0]           poison_d, poison_q;
  logic [3:0]                   lines_d [NumBags];
  logic [3:0]                   lines_q [NumBags];
  logic [CntW-1:0]              total_d [NumBags];
  logic [CntW-1:0]              total_q [NumBags];
  logic [15:0]                  rows_d [NumBags];     // rows the bag was opened with
  logic [15:0]                  rows_q [NumBags];
  logic [15:0]                  mapped_d [NumBags];   // rows mapped so far (RowMap commands)
  logic [15:0]                  mapped_q [NumBags];
  logic [CntW-1:0]              written_d [NumBags];
  logic [CntW-1:0]              written_q [NumBags];
  logic [MaxRowLines-1:0]       rot_d [NumBags];      // which partial the next line goes to
  logic [MaxRowLines-1:0]       rot_q [NumBags];
  // Partial sums: memory written with enables (no reset; BagOpen clears a bag's entries).
  logic [LineW-1:0]             part_q [NumBags][MaxRowLines][2];

  // ---------------------------------------------------------------------------------------------
  // Accumulate path: arrival (cycle t) -> adder stage 1 (t+1) -> write-back (t+2)
  // ---------------------------------------------------------------------------------------------
  logic              arr_v;
  logic [BagW-1:0]   arr_bag;
  logic [LineIW-1:0] arr_line;
  logic              arr_part;
  logic [LineW-1:0]  arr_opnd;
  tag_entry_t        arr_entry;
  logic              arr_tag_ok;

  logic              s1_v_q, s2_v_q;
  logic [BagW-1:0]   s1_bag_q, s2_bag_q;
  logic [LineIW-1:0] s1_line_q, s2_line_q;
  logic              s1_part_q, s2_part_q;
  logic [LineW-1:0]  wb_sum;

  assign arr_entry  = tags_q[TagIW'(line_tag_i)];
  assign arr_tag_ok = (32'(line_tag_i) < NumTags) && arr_entry.valid;
  // A line is summed only into a live bag; any other line with a mapped tag is dropped (the
  // tag is consumed) and reported, so a stray response can never complete a later bag.
  assign arr_v      = line_valid_i && arr_tag_ok && arr_bag_live;
  assign arr_bag    = arr_entry.bag;
  assign arr_line   = arr_entry.line;
  assign arr_part   = rot_q[arr_bag][arr_line];
  logic arr_bag_live;  // the tag's bag is open, incomplete, and the line is inside its row
  assign arr_bag_live = open_q[arr_bag] && !cmpl_q[arr_bag]
                        && 32'(arr_line) < 32'(lines_q[arr_bag]);
  // Forward a write-back of the same partial sum in this cycle.
  assign arr_opnd   = (s2_v_q && s2_bag_q == arr_bag && s2_line_q == arr_line
                       && s2_part_q == arr_part) ? wb_sum : part_q[arr_bag][arr_line][arr_part];

  for (genvar i = 0; i < Lanes; i++) begin : gen_acc_lane
    pifs_fp32_add u_add (
      .clk_i,
      .rst_ni,
      .en_i  (arr_v),
      .a_i   (arr_opnd[32 * i +: 32]),
      .b_i   (line_data_i[32 * i +: 32]),
      .sum_o (wb_sum[32 * i +: 32])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Reduce path: P0 + P1 for each line of a complete bag, then the result FIFO.
  // ---------------------------------------------------------------------------------------------
  logic              red_busy_d, red_busy_q;
  logic [BagW-1:0]   red_bag_d, red_bag_q;
  logic [LineIW-1:0] red_line_d, red_line_q;
  logic              red_go;        // issue one line this cycle
  logic [BagW-1:0]   red_cur_bag;
  logic              red_cur_v;
  logic              red_last;
  logic [BagW-1:0]   red_pick;
  logic              rs1_v_q, rs2_v_q;
  logic [BagW-1:0]   rs1_bag_q, rs2_bag_q;
  logic [LineIW-1:0] rs1_line_q, rs2_line_q;
  logic              rs1_last_q, rs2_last_q;
  logic              rs1_poison_q, rs2_poison_q;
  logic [LineW-1:0]  red_sum;

  always_comb begin
    red_pick = '0;
    for (int b = NumBags - 1; b >= 0; b--) begin
      if (cmpl_q[b]) begin
        red_pick = BagW'(b);
      end
    end
  end

  logic [ResCntW-1:0] res_cnt_d, res_cnt_q;
  logic [ResPtrW-1:0] res_wptr_d, res_wptr_q, res_rptr_d, res_rptr_q;
  logic [2:0]         red_inflight;
  logic               res_push, res_pop;

  assign red_inflight = 3'(rs1_v_q) + 3'(rs2_v_q);
  assign red_cur_v    = red_busy_q || (|cmpl_q);
  assign red_cur_bag  = red_busy_q ? red_bag_q : red_pick;
  assign red_go       = red_cur_v && (32'(res_cnt_q) + 32'(red_inflight) < ResDepth);
  assign red_last     = (32'(red_line_q) + 1 == 32'(lines_q[red_cur_bag]));

  for (genvar i = 0; i < Lanes; i++) begin : gen_red_lane
    pifs_fp32_add u_add (
      .clk_i,
      .rst_ni,
      .en_i  (red_go),
      .a_i   (part_q[red_cur_bag][red_line_q][0][32 * i +: 32]),
      .b_i   (part_q[red_cur_bag][red_line_q][1][32 * i +: 32]),
      .sum_o (red_sum[32 * i +: 32])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Bag bookkeeping
  // ---------------------------------------------------------------------------------------------
  logic open_ok, map_ok;

  always_comb begin
    tags_d     = tags_q;
    open_d     = open_q;
    cmpl_d     = cmpl_q;
    poison_d   = poison_q;
    lines_d    = lines_q;
    total_d    = total_q;
    written_d  = written_q;
    rows_d     = rows_q;
    mapped_d   = mapped_q;
    rot_d      = rot_q;
    red_busy_d = red_busy_q;
    red_bag_d  = red_bag_q;
    red_line_d = red_line_q;
    cmd_err_o  = 1'b0;
    open_ok    = 1'b0;
    map_ok     = 1'b0;

    // Arrival: consume the tag, flip the partial selector, collect poison.
    if (line_valid_i && arr_tag_ok) begin
      tags_d[TagIW'(line_tag_i)].valid = 1'b0;
    end
    if (arr_v) begin
      rot_d[arr_bag][arr_line] = !arr_part;
      poison_d[arr_bag] = poison_q[arr_bag] | line_poison_i;
    end

    // Write-back: count the line; the last one completes the bag.
    if (s2_v_q) begin
      written_d[s2_bag_q] = written_q[s2_bag_q] + 1'b1;
      if (written_q[s2_bag_q] + 1'b1 == total_q[s2_bag_q]) begin
        cmpl_d[s2_bag_q] = 1'b1;
      end
    end

    // Reduce: take a complete bag, issue one line per cycle, free the slot after its last line.
    if (red_go) begin
      if (!red_busy_q) begin
        cmpl_d[red_pick] = 1'b0;
      end
      if (red_last) begin
        red_busy_d = 1'b0;
        red_line_d = '0;
        open_d[red_cur_bag] = 1'b0;
      end else begin
        red_busy_d = 1'b1;
        red_bag_d  = red_cur_bag;
        red_line_d = red_line_q + 1'b1;
      end
    end

    // Commands.
    if (cmd_valid_i && !cmd_rsvd_ok) begin
      cmd_err_o = 1'b1;
    end else if (cmd_valid_i) begin
      unique case (cmd_op)
        CmdBagOpen: begin
          open_ok = 32'(cmd_bag) < NumBags && !open_q[BagW'(cmd_bag)] && cmd_lines != '0
                    && 32'(cmd_lines) <= MaxRowLines;
          if (open_ok) begin
            open_d[BagW'(cmd_bag)]    = 1'b1;
            poison_d[BagW'(cmd_bag)]  = 1'b0;
            lines_d[BagW'(cmd_bag)]   = cmd_lines;
            total_d[BagW'(cmd_bag)]   = CntW'(cmd_rows) * CntW'(cmd_lines);
            written_d[BagW'(cmd_bag)] = '0;
            rows_d[BagW'(cmd_bag)]    = cmd_rows;
            mapped_d[BagW'(cmd_bag)]  = '0;
            rot_d[BagW'(cmd_bag)]     = '0;
            cmpl_d[BagW'(cmd_bag)]    = cmd_rows == '0;
          end
          cmd_err_o = !open_ok;
        end
        CmdRowMap: begin
          // The row's tags cmd_tag .. cmd_tag + lines - 1 must all be free.
          // ... and the bag must still be waiting for rows (at most `rows` RowMaps).
          map_ok = 32'(cmd_bag) < NumBags && open_q[BagW'(cmd_bag)]
                   && mapped_q[BagW'(cmd_bag)] < rows_q[BagW'(cmd_bag)]
                   && 32'(cmd_tag) + 32'(lines_q[BagW'(cmd_bag)]) <= NumTags;
          for (int l = 0; l < MaxRowLines; l++) begin
            if (l < 32'(lines_q[BagW'(cmd_bag)]) && 32'(cmd_tag) + l < NumTags
                && tags_q[TagIW'(32'(cmd_tag) + l)].valid) begin
              map_ok = 1'b0;
            end
          end
          if (map_ok) begin
            mapped_d[BagW'(cmd_bag)] = mapped_q[BagW'(cmd_bag)] + 16'd1;
            for (int l = 0; l < MaxRowLines; l++) begin
              if (l < 32'(lines_q[BagW'(cmd_bag)])) begin
                tags_d[TagIW'(32'(cmd_tag) + l)] = '{valid: 1'b1, bag: BagW'(cmd_bag),
                                                     line: LineIW'(l)};
              end
            end
          end
          cmd_err_o = !map_ok;
        end
        default: cmd_err_o = 1'b1;
      endcase
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Result FIFO
  // ---------------------------------------------------------------------------------------------
  typedef struct packed {
    logic [7:0]       bag;
    logic [3:0]       line;
    logic             last;
    logic             poison;
    logic [LineW-1:0] data;
  } res_t;

  res_t res_mem_q [ResDepth];

  assign res_push   = rs2_v_q;
  assign res_pop    = res_valid_o && res_ready_i;
  assign res_cnt_d  = res_cnt_q + ResCntW'(res_push) - ResCntW'(res_pop);
  assign res_wptr_d = !res_push ? res_wptr_q
                    : (32'(res_wptr_q) == ResDepth - 1) ? '0 : res_wptr_q + 1'b1;
  assign res_rptr_d = !res_pop ? res_rptr_q
                    : (32'(res_rptr_q) == ResDepth - 1) ? '0 : res_rptr_q + 1'b1;

  assign res_valid_o  = res_cnt_q != '0;
  assign res_bag_o    = res_mem_q[res_rptr_q].bag;
  assign res_line_o   = res_mem_q[res_rptr_q].line;
  assign res_last_o   = res_mem_q[res_rptr_q].last;
  assign res_poison_o = res_mem_q[res_rptr_q].poison;
  assign res_data_o   = res_mem_q[res_rptr_q].data;

  assign mon_valid_o = arr_v;
  assign mon_bag_o   = 8'(arr_bag);
  assign mon_line_o  = 4'(arr_line);
  assign mon_part_o  = arr_part;
  assign tag_err_o   = line_valid_i && !arr_v;
  assign busy_o      = (|open_q) || s1_v_q || s2_v_q || rs1_v_q || rs2_v_q || res_cnt_q != '0;

  // ---------------------------------------------------------------------------------------------
  // Registers
  // ---------------------------------------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tags_q       <= '0;
      open_q       <= '0;
      cmpl_q       <= '0;
      poison_q     <= '0;
      lines_q      <= '{default: '0};
      total_q      <= '{default: '0};
      written_q    <= '{default: '0};
      rows_q       <= '{default: '0};
      mapped_q     <= '{default: '0};
      rot_q        <= '{default: '0};
      red_busy_q   <= 1'b0;
      red_bag_q    <= '0;
      red_line_q   <= '0;
      s1_v_q       <= 1'b0;
      s1_bag_q     <= '0;
      s1_line_q    <= '0;
      s1_part_q    <= 1'b0;
      s2_v_q       <= 1'b0;
      s2_bag_q     <= '0;
      s2_line_q    <= '0;
      s2_part_q    <= 1'b0;
      rs1_v_q      <= 1'b0;
      rs1_bag_q    <= '0;
      rs1_line_q   <= '0;
      rs1_last_q   <= 1'b0;
      rs1_poison_q <= 1'b0;
      rs2_v_q      <= 1'b0;
      rs2_bag_q    <= '0;
      rs2_line_q   <= '0;
      rs2_last_q   <= 1'b0;
      rs2_poison_q <= 1'b0;
      res_cnt_q    <= '0;
      res_wptr_q   <= '0;
      res_rptr_q   <= '0;
    end else begin
      tags_q       <= tags_d;
      open_q       <= open_d;
      cmpl_q       <= cmpl_d;
      poison_q     <= poison_d;
      lines_q      <= lines_d;
      total_q      <= total_d;
      written_q    <= written_d;
      rows_q       <= rows_d;
      mapped_q     <= mapped_d;
      rot_q        <= rot_d;
      red_busy_q   <= red_busy_d;
      red_bag_q    <= red_bag_d;
      red_line_q   <= red_line_d;
      s1_v_q       <= arr_v;
      s1_bag_q     <= arr_bag;
      s1_line_q    <= arr_line;
      s1_part_q    <= arr_part;
      s2_v_q       <= s1_v_q;
      s2_bag_q     <= s1_bag_q;
      s2_line_q    <= s1_line_q;
      s2_part_q    <= s1_part_q;
      rs1_v_q      <= red_go;
      rs1_bag_q    <= red_cur_bag;
      rs1_line_q   <= red_line_q;
      rs1_last_q   <= red_last;
      rs1_poison_q <= poison_q[red_cur_bag];
      rs2_v_q      <= rs1_v_q;
      rs2_bag_q    <= rs1_bag_q;
      rs2_line_q   <= rs1_line_q;
      rs2_last_q   <= rs1_last_q;
      rs2_poison_q <= rs1_poison_q;
      res_cnt_q    <= res_cnt_d;
      res_wptr_q   <= res_wptr_d;
      res_rptr_q   <= res_rptr_d;
    end
  end

  // Partial-sum memory: write-back of the accumulate path, and the clear of a newly opened bag.
  always_ff @(posedge clk_i) begin
    if (s2_v_q) begin
      part_q[s2_bag_q][s2_line_q][s2_part_q] <= wb_sum;
    end
    if (cmd_valid_i && open_ok) begin
      for (int l = 0; l < MaxRowLines; l++) begin
        part_q[BagW'(cmd_bag)][l][0] <= '0;
        part_q[BagW'(cmd_bag)][l][1] <= '0;
      end
    end
  end

  // Result FIFO storage.
  always_ff @(posedge clk_i) begin
    if (res_push) begin
      res_mem_q[res_wptr_q] <= '{bag: 8'(rs2_bag_q), line: 4'(rs2_line_q), last: rs2_last_q,
                                 poison: rs2_poison_q, data: red_sum};
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // Array selects are named outside the properties (5.006 cannot select inside them).
  logic wb_in_bound, red_bag_open;
  assign wb_in_bound  = written_q[s2_bag_q] < total_q[s2_bag_q];
  assign red_bag_open = open_q[red_cur_bag];

  // A stalled result holds its payload until it transfers.
  ResStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    res_valid_o && !res_ready_i |=> res_valid_o && $stable(res_bag_o) && $stable(res_line_o)
                                    && $stable(res_data_o) && $stable(res_last_o)
                                    && $stable(res_poison_o));
  // The result FIFO never overflows: the reduce path only issues with room reserved.
  ResNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    32'(res_cnt_q) <= ResDepth);
  // A bag never receives more lines than it was opened with.
  WrittenBound_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    s2_v_q |-> wb_in_bound);
  // The reduce path only reads open bags.
  RedBagOpen_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    red_go |-> red_bag_open);

endmodule
