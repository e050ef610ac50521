// One IEEE 754 binary32 adder lane with a two-stage pipeline.
//
// sum_o = a_i + b_i, exactly as IEEE 754 binary32 addition with round-to-nearest, ties-to-even:
// - subnormal inputs and outputs are handled in full (no flush to zero, no denormals-are-zero);
// - signed zeros: an exact zero sum of operands with different signs is +0 (x + (-x) = +0,
//   +0 + -0 = +0); -0 + -0 = -0;
// - infinities: inf + finite = inf, inf + inf = inf, inf + -inf = NaN; a finite sum whose
//   rounded magnitude exceeds the largest finite value becomes an infinity of its sign;
// - NaN: every NaN result is the canonical quiet NaN 32'h7FC0_0000, whatever the input NaN
//   payloads or signs (NaN payloads are not propagated). No exception flags are produced.
//
// Timing: the operands are sampled at the end of cycle t and their sum drives sum_o (straight
// from a register) in cycle t+2. A new pair can be given every cycle; there is no stall and no
// valid bit, so the lane is a pure datapath and needs no reset.
//
// Pipeline split:
// - stage 1 (a_i/b_i -> s1_q): unpack, NaN/infinity detection, magnitude compare and swap so
//   that the larger magnitude is the "big" operand, alignment of the smaller significand by the
//   exponent difference into a 27-bit field (24-bit significand + guard, round, sticky).
// - stage 2 (s1_q -> sum_q): add or subtract the significands, normalise (one right shift on
//   carry-out, or a leading-zero left shift limited by the exponent so that tiny results become
//   subnormal), round to nearest even, exponent overflow to infinity, final result select.
module pifs_fp32_add (
  // Clock. rst_ni is unused: the lane holds no control state (see unused_rst below).
  input  logic        clk_i,
  input  logic        rst_ni,

  // Operands (binary32 bit patterns), sampled at the end of cycle t.
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,

  // a_i + b_i of cycle t, registered, valid in cycle t+2.
  output logic [31:0] sum_o
);

  localparam int unsigned ExpW = 8;            // exponent field width
  localparam int unsigned ManW = 23;           // stored fraction width
  localparam int unsigned SigW = ManW + 1;     // significand with the hidden bit
  localparam int unsigned AlnW = SigW + 3;     // significand + guard, round, sticky
  localparam int unsigned ShW  = 5;            // enough for a shift/count of 0 .. AlnW

  localparam logic [31:0] CanonicalNan = 32'h7FC0_0000;
  localparam logic [ExpW-1:0] ExpMax = '1;    // exponent field of infinities and NaNs

  // The datapath is self-contained: no valid bit, so the reset is not needed. The lowRISC
  // "unused_" naming waives Verilator's UNUSEDSIGNAL for it.
  logic unused_rst;
  assign unused_rst = rst_ni;

  ////////////////////////
  // Helper functions   //
  ////////////////////////

  // Shift val right by amt; every bit shifted out is ORed into bit 0 (the sticky bit).
  function automatic logic [AlnW-1:0] shift_right_sticky(logic [AlnW-1:0] val,
                                                         logic [ExpW-1:0] amt);
    logic [AlnW-1:0] shifted;
    logic [AlnW-1:0] lost_mask;
    logic            sticky;
    if (amt >= ExpW'(AlnW)) begin
      shifted = '0;
      sticky  = |val;
    end else begin
      shifted   = val >> amt;
      lost_mask = ~({AlnW{1'b1}} << amt);
      sticky    = |(val & lost_mask);
    end
    return {shifted[AlnW-1:1], shifted[0] | sticky};
  endfunction

  // Number of leading zeros of val (AlnW when val is zero), by halving steps (16, 8, 4, 2, 1):
  // ones padded below val stop the count at AlnW.
  function automatic logic [ShW-1:0] count_leading_zeros(logic [AlnW-1:0] val);
    logic [31:0] v;
    logic [5:0]  n;
    v = {val, {(32 - AlnW){1'b1}}};
    n = '0;
    if (v[31:16] == '0) begin n = n + 6'd16; v = v << 16; end
    if (v[31:24] == '0) begin n = n + 6'd8;  v = v << 8;  end
    if (v[31:28] == '0) begin n = n + 6'd4;  v = v << 4;  end
    if (v[31:30] == '0) begin n = n + 6'd2;  v = v << 2;  end
    if (v[31] == 1'b0)  begin n = n + 6'd1;               end
    return ShW'(n);
  endfunction

  ///////////////////////////////////////////////////////////
  // Stage 1: unpack, specials, compare/swap, alignment    //
  ///////////////////////////////////////////////////////////

  typedef struct packed {
    logic            is_nan;     // result is the canonical NaN
    logic            is_inf;     // result is an infinity with sign `sign`
    logic            sign;       // sign of the larger-magnitude operand (= sign of the result)
    logic            eff_sub;    // operand signs differ: subtract the significands
    logic [ExpW-1:0] exp;        // effective biased exponent of the larger operand (>= 1)
    logic [SigW-1:0] sig_big;    // significand of the larger operand, hidden bit included
    logic [AlnW-1:0] sig_small;  // smaller significand aligned to sig_big, guard/round/sticky
  } stage1_t;

  stage1_t s1_d, s1_q;

  logic            a_nan, b_nan, a_inf, b_inf;
  logic            swap;
  logic [31:0]     op_big;    // larger-magnitude operand
  logic [30:0]     op_small;  // smaller-magnitude operand, sign dropped
  logic [ExpW-1:0] exp_big, exp_small, exp_diff;

  always_comb begin
    a_nan = (a_i[30:23] == ExpMax) && (a_i[22:0] != '0);
    b_nan = (b_i[30:23] == ExpMax) && (b_i[22:0] != '0);
    a_inf = (a_i[30:23] == ExpMax) && (a_i[22:0] == '0);
    b_inf = (b_i[30:23] == ExpMax) && (b_i[22:0] == '0);

    // Exponent and fraction together compare as an unsigned magnitude. On a tie a stays big.
    swap     = b_i[30:0] > a_i[30:0];
    op_big   = swap ? b_i : a_i;
    op_small = swap ? a_i[30:0] : b_i[30:0];

    // Subnormals (exponent field 0) have effective exponent 1 and no hidden bit.
    exp_big   = (op_big[30:23] == '0) ? ExpW'(1) : op_big[30:23];
    exp_small = (op_small[30:23] == '0) ? ExpW'(1) : op_small[30:23];
    exp_diff  = exp_big - exp_small;  // never negative: |op_big| >= |op_small|

    s1_d           = '0;
    s1_d.is_nan    = a_nan || b_nan || (a_inf && b_inf && (a_i[31] != b_i[31]));
    s1_d.is_inf    = (a_inf || b_inf) && !s1_d.is_nan;
    s1_d.sign      = op_big[31];  // an infinity operand is always the big one
    s1_d.eff_sub   = a_i[31] != b_i[31];
    s1_d.exp       = exp_big;
    s1_d.sig_big   = {op_big[30:23] != '0, op_big[22:0]};
    s1_d.sig_small = shift_right_sticky({op_small[30:23] != '0, op_small[22:0], 3'b000},
                                        exp_diff);
  end

  always_ff @(posedge clk_i) begin
    s1_q <= s1_d;
  end

  ///////////////////////////////////////////////////////////////
  // Stage 2: add/subtract, normalise, round, pack             //
  ///////////////////////////////////////////////////////////////

  logic [AlnW:0]       sum_raw;    // bit AlnW is the carry-out of an addition
  logic [ShW-1:0]      lz_count;
  logic [ShW-1:0]      norm_shift;
  logic [AlnW-1:0]     norm_sig;   // hidden bit at AlnW-1, guard/round/sticky at 2/1/0
  logic [ExpW+1:0]     norm_exp;
  logic [ExpW+1:0]     exp_field;
  logic                round_up;
  logic [ExpW+ManW+1:0] rounded;   // {exponent field, fraction} after rounding
  logic [31:0]         sum_d, sum_q;

  always_comb begin
    if (s1_q.eff_sub) begin
      sum_raw = {1'b0, s1_q.sig_big, 3'b000} - {1'b0, s1_q.sig_small};
    end else begin
      sum_raw = {1'b0, s1_q.sig_big, 3'b000} + {1'b0, s1_q.sig_small};
    end

    lz_count   = count_leading_zeros(sum_raw[AlnW-1:0]);
    norm_shift = '0;
    if (sum_raw[AlnW]) begin
      // Carry-out: shift right by one, keeping the dropped bit in the sticky bit.
      norm_sig = {sum_raw[AlnW:2], sum_raw[1] | sum_raw[0]};
      norm_exp = (ExpW+2)'(s1_q.exp) + (ExpW+2)'(1);
    end else begin
      // Left shift to bring the leading one to the hidden-bit position, but never below the
      // minimum exponent 1: what is still not normalised there is a subnormal result.
      if ((ExpW+2)'(lz_count) < (ExpW+2)'(s1_q.exp)) begin
        norm_shift = lz_count;
      end else begin
        norm_shift = ShW'(s1_q.exp - ExpW'(1));
      end
      norm_sig = sum_raw[AlnW-1:0] << norm_shift;
      norm_exp = (ExpW+2)'(s1_q.exp) - (ExpW+2)'(norm_shift);
    end

    // Subnormal results have exponent field 0. Rounding is an increment of the packed
    // {exponent, fraction}: a fraction carry moves into the exponent, which turns the largest
    // subnormal into the smallest normal and the largest finite value into infinity.
    exp_field = norm_sig[AlnW-1] ? norm_exp : '0;
    round_up  = norm_sig[2] && (norm_sig[1] || norm_sig[0] || norm_sig[3]);
    rounded   = {exp_field, norm_sig[AlnW-2:3]} + (ExpW+ManW+2)'(round_up);

    if (s1_q.is_nan) begin
      sum_d = CanonicalNan;
    end else if (s1_q.is_inf) begin
      sum_d = {s1_q.sign, ExpMax, {ManW{1'b0}}};
    end else if (sum_raw == '0) begin
      // Exact zero: -0 only when both operands are -0; x + (-x) is +0 under RNE.
      sum_d = {s1_q.sign && !s1_q.eff_sub, 31'b0};
    end else if (rounded[ExpW+ManW+1:ManW] >= (ExpW+2)'(ExpMax)) begin
      sum_d = {s1_q.sign, ExpMax, {ManW{1'b0}}};
    end else begin
      sum_d = {s1_q.sign, rounded[ExpW+ManW-1:0]};
    end
  end

  always_ff @(posedge clk_i) begin
    sum_q <= sum_d;
  end

  assign sum_o = sum_q;

endmodule
