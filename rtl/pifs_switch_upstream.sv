// Upstream path of the switch: one egress FIFO per downstream port for its partial-sum lines, a
// round-robin arbiter over the ports, and a credit counter, onto the one upstream stream.
//
// Arbitration: among the ports whose egress FIFO is not empty, the first at or after the
// round-robin pointer wins; after a line of port p transfers, the pointer moves to p + 1. With
// every port backlogged each gets every NumPorts-th line. A line offered upstream but not taken
// (up_ready_i low) locks the grant, so valid, port and data hold until the transfer.
//
// Credits: the counter starts at UpCredits; each up_credit_i pulse adds one, each transferred
// line takes one. A line is offered only while the counter is non-zero (a pulse in cycle t is
// usable from t+1). up_valid_o depends only on registers (FIFO counts, lock, credits).
//
// Timing: a line that leaves a port in cycle t is in its egress FIFO from t+1 and can go
// upstream in t+1.
module pifs_switch_upstream
  import pifs_pkg::*;
#(
  parameter int unsigned NumPorts    = 8,   // downstream ports, 1 .. 16
  parameter int unsigned EgressDepth = 8,   // egress FIFO entries per port, >= 1
  parameter int unsigned UpCredits   = 32,  // credits after reset, < 2^CreditW
  parameter int unsigned CreditW     = 16   // credit counter width
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,

  // Partial-sum lines from each port's accumulator (valid/ready per port). A port is held off
  // (ready low) while its egress FIFO is full.
  input  logic [NumPorts-1:0]          res_valid_i,
  output logic [NumPorts-1:0]          res_ready_o,
  input  res_line_t [NumPorts-1:0]     res_i,

  // The upstream stream (valid/ready): one line and the port it came from.
  output logic                         up_valid_o,
  input  logic                         up_ready_i,
  output logic [PortW-1:0]             up_port_o,
  output res_line_t                    up_line_o,

  // Credit return from the upstream side: one credit per cycle the pulse is high.
  input  logic                         up_credit_i,
  output logic [CreditW-1:0]           credits_o,    // credits available now
  output logic                         wait_o,       // a line waits for a credit
  output logic                         busy_o        // some egress FIFO holds a line
);

  localparam int unsigned IdxW = (NumPorts > 1) ? $clog2(NumPorts) : 1;

  if (NumPorts < 1 || NumPorts > 16) begin : gen_bad_ports
    $fatal(1, "NumPorts must be 1..16 (4-bit port field)");
  end
  if (CreditW < 1 || CreditW > 31 || UpCredits >= (1 << CreditW)) begin : gen_bad_credits
    $fatal(1, "UpCredits must fit the credit counter (UpCredits < 2^CreditW, CreditW <= 31)");
  end

  // ---------------------------------------------------------------------------------------------
  // Egress FIFOs
  // ---------------------------------------------------------------------------------------------
  logic [NumPorts-1:0] eg_valid, eg_pop;
  res_line_t           eg_line [NumPorts];

  for (genvar p = 0; p < NumPorts; p++) begin : gen_egress
    pifs_fifo #(
      .Width ($bits(res_line_t)),
      .Depth (EgressDepth)
    ) u_egress (
      .clk_i,
      .rst_ni,
      .in_valid_i  (res_valid_i[p]),
      .in_ready_o  (res_ready_o[p]),
      .in_data_i   (res_i[p]),
      .out_valid_o (eg_valid[p]),
      .out_ready_i (eg_pop[p]),
      .out_data_o  (eg_line[p])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Round-robin arbiter with a lock while the upstream side stalls
  // ---------------------------------------------------------------------------------------------
  logic [IdxW-1:0]    rr_d, rr_q;          // highest-priority port
  logic               lock_d, lock_q;      // a granted line was offered and not taken
  logic [IdxW-1:0]    lock_idx_d, lock_idx_q;
  logic [IdxW-1:0]    pick, gnt;
  logic               any_req;
  logic [CreditW-1:0] credit_d, credit_q;
  logic               up_fire;

  int unsigned idx;

  always_comb begin
    pick    = '0;
    any_req = 1'b0;
    idx     = 0;
    // Scan from the farthest port to the pointer, so the first requester after it wins.
    for (int i = NumPorts - 1; i >= 0; i--) begin
      idx = 32'(rr_q) + 32'(i);
      if (idx >= NumPorts) begin
        idx = idx - NumPorts;
      end
      if (eg_valid[idx]) begin
        pick    = IdxW'(idx);
        any_req = 1'b1;
      end
    end
  end

  assign gnt        = lock_q ? lock_idx_q : pick;
  assign up_valid_o = (lock_q || any_req) && credit_q != '0;
  assign up_port_o  = PortW'(gnt);
  assign up_line_o  = eg_line[gnt];
  assign up_fire    = up_valid_o && up_ready_i;
  assign lock_d     = up_valid_o && !up_ready_i;
  assign lock_idx_d = gnt;
  assign rr_d       = !up_fire ? rr_q : (32'(gnt) == NumPorts - 1) ? '0 : gnt + 1'b1;
  assign credit_d   = credit_q - CreditW'(up_fire) + CreditW'(up_credit_i);

  always_comb begin
    eg_pop = '0;
    eg_pop[gnt] = up_fire;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rr_q       <= '0;
      lock_q     <= 1'b0;
      lock_idx_q <= '0;
      credit_q   <= CreditW'(UpCredits);
    end else begin
      rr_q       <= rr_d;
      lock_q     <= lock_d;
      lock_idx_q <= lock_idx_d;
      credit_q   <= credit_d;
    end
  end

  assign credits_o = credit_q;
  assign wait_o    = (lock_q || any_req) && credit_q == '0;
  assign busy_o    = |eg_valid;

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // Array selects are named outside the properties (5.006 cannot select inside them).
  logic gnt_valid;
  assign gnt_valid = eg_valid[gnt];

  // An upstream line that is not taken stays offered with the same port and payload.
  UpStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    up_valid_o && !up_ready_i |=> up_valid_o && $stable(up_port_o) && $stable(up_line_o));
  // A line is only offered from a non-empty egress FIFO.
  UpFromFifo_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    up_valid_o |-> gnt_valid);
  // A line is only sent with a credit (the counter never goes below zero).
  CreditNoUnderflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    up_fire |-> credit_q != '0);
  // Credit pulses never overflow the counter.
  CreditNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    up_credit_i && !up_fire |-> credit_q != '1);

endmodule
