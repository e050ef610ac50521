// Synchronous FIFO with registered status (the style of prim_fifo_sync without pass-through): a
// word pushed in cycle t can leave in cycle t+1. in_ready_o and out_valid_o depend only on the
// entry count register, never on the other side's valid or ready. A push into a full FIFO is
// refused (in_ready_o low), even when a pop frees an entry in the same cycle.
module pifs_fifo #(
  parameter int unsigned Width = 8,  // bits per entry
  parameter int unsigned Depth = 4   // entries, >= 1
) (
  input  logic             clk_i,
  input  logic             rst_ni,

  // Write side (valid/ready): ready while the FIFO holds fewer than Depth entries.
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,

  // Read side (valid/ready): the oldest entry, valid while the FIFO is not empty.
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o
);

  localparam int unsigned CntW = $clog2(Depth + 1);
  localparam int unsigned PtrW = (Depth > 1) ? $clog2(Depth) : 1;

  if (Depth < 1) begin : gen_bad_depth
    $fatal(1, "Depth must be >= 1");
  end
  if (Width < 1) begin : gen_bad_width
    $fatal(1, "Width must be >= 1");
  end

  logic [CntW-1:0]  cnt_d, cnt_q;
  logic [PtrW-1:0]  wptr_d, wptr_q, rptr_d, rptr_q;
  logic [Width-1:0] mem_q [Depth];
  logic             push, pop;

  assign in_ready_o  = 32'(cnt_q) < Depth;
  assign out_valid_o = cnt_q != '0;
  assign out_data_o  = mem_q[rptr_q];
  assign push        = in_valid_i && in_ready_o;
  assign pop         = out_valid_o && out_ready_i;

  assign cnt_d  = cnt_q + CntW'(push) - CntW'(pop);
  assign wptr_d = !push ? wptr_q : (32'(wptr_q) == Depth - 1) ? '0 : wptr_q + 1'b1;
  assign rptr_d = !pop  ? rptr_q : (32'(rptr_q) == Depth - 1) ? '0 : rptr_q + 1'b1;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_q  <= '0;
      wptr_q <= '0;
      rptr_q <= '0;
    end else begin
      cnt_q  <= cnt_d;
      wptr_q <= wptr_d;
      rptr_q <= rptr_d;
    end
  end

  // Storage: written on a push, no reset (an entry is read only after it was written).
  always_ff @(posedge clk_i) begin
    if (push) begin
      mem_q[wptr_q] <= in_data_i;
    end
  end

  // The entry count never exceeds the depth.
  FifoNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    32'(cnt_q) <= Depth);
  // A refused pop leaves the head entry offered, unchanged.
  FifoOutStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    out_valid_o && !out_ready_i |=> out_valid_o && $stable(out_data_o));

endmodule
