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
// Timing: the operands are sampled at the end of cycle t when en_i is high, and their sum
// drives sum_o (straight from a register) in cycle t+2. A new pair can be given every cycle;
// there is no stall. A cycle with en_i low samples nothing: each stage register holds, so sum_o
// keeps the last sum until the next enabled pair reaches it. The enables gate the whole
// datapath of a stage (its logic is evaluated inside the enabled register update), which is
// also what keeps a Verilated lane from computing sums nobody reads; in hardware they are
// clock enables. Only the stage-2 enable has a reset.
//
// Pipeline split:
// - stage 1 (a_i/b_i -> s1_q): unpack, NaN/infinity detection, magnitude compare and swap so
//   that the larger magnitude is the "big" operand, alignment of the smaller significand by the
//   exponent difference into a 27-bit field (24-bit significand + guard, round, sticky).
// - stage 2 (s1_q -> sum_q): add or subtract the significands, normalise (one right shift on
//   carry-out, or a leading-zero left shift limited by the exponent so that tiny results become
//   subnormal), round to nearest even, exponent overflow to infinity, final result select.
module pifs_fp32_add (
  // Clock and active-low asynchronous reset (of the stage-2 enable only).
  input  logic        clk_i,
  input  logic        rst_ni,

  // Operands (binary32 bit patterns), sampled at the end of cycle t when en_i is high.
  input  logic        en_i,
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,

  // a_i + b_i of the last enabled cycle t, registered, from cycle t+2.
  output logic [31:0] sum_o
);

  localparam int unsigned ExpW = 8;            // exponent field width
  localparam int unsigned ManW = 23;           // stored fraction width
  localparam int unsigned SigW = ManW + 1;     // significand with the hidden bit
  localparam int unsigned AlnW = SigW + 3;     // significand + guard, round, sticky
  localparam int unsigned ShW  = 5;            // enough for a shift/count of 0 .. AlnW

  localparam logic [31:0] CanonicalNan = 32'h7FC0_0000;
  localparam logic [ExpW-1:0] ExpMax = '1;    // exponent field of infinities and NaNs

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

  stage1_t s1_q;

  function automatic stage1_t stage1(logic [31:0] a, logic [31:0] b);
    stage1_t         s;
    logic            a_nan, b_nan, a_inf, b_inf;
    logic            swap;
    logic [31:0]     op_big;    // larger-magnitude operand
    logic [30:0]     op_small;  // smaller-magnitude operand, sign dropped
    logic [ExpW-1:0] exp_big, exp_small, exp_diff;

    a_nan = (a[30:23] == ExpMax) && (a[22:0] != '0);
    b_nan = (b[30:23] == ExpMax) && (b[22:0] != '0);
    a_inf = (a[30:23] == ExpMax) && (a[22:0] == '0);
    b_inf = (b[30:23] == ExpMax) && (b[22:0] == '0);

    // Exponent and fraction together compare as an unsigned magnitude. On a tie a stays big.
    swap     = b[30:0] > a[30:0];
    op_big   = swap ? b : a;
    op_small = swap ? a[30:0] : b[30:0];

    // Subnormals (exponent field 0) have effective exponent 1 and no hidden bit.
    exp_big   = (op_big[30:23] == '0) ? ExpW'(1) : op_big[30:23];
    exp_small = (op_small[30:23] == '0) ? ExpW'(1) : op_small[30:23];
    exp_diff  = exp_big - exp_small;  // never negative: |op_big| >= |op_small|

    s           = '0;
    s.is_nan    = a_nan || b_nan || (a_inf && b_inf && (a[31] != b[31]));
    s.is_inf    = (a_inf || b_inf) && !s.is_nan;
    s.sign      = op_big[31];  // an infinity operand is always the big one
    s.eff_sub   = a[31] != b[31];
    s.exp       = exp_big;
    s.sig_big   = {op_big[30:23] != '0, op_big[22:0]};
    s.sig_small = shift_right_sticky({op_small[30:23] != '0, op_small[22:0], 3'b000}, exp_diff);
    return s;
  endfunction

  // Stage-1 register: loaded only in enabled cycles (the stage's logic is evaluated there).
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      s1_q <= stage1(a_i, b_i);
    end
  end

  ///////////////////////////////////////////////////////////////
  // Stage 2: add/subtract, normalise, round, pack             //
  ///////////////////////////////////////////////////////////////

  function automatic logic [31:0] stage2(stage1_t s1);
    logic [AlnW:0]        sum_raw;    // bit AlnW is the carry-out of an addition
    logic [ShW-1:0]       lz_count;
    logic [ShW-1:0]       norm_shift;
    logic [AlnW-1:0]      norm_sig;   // hidden bit at AlnW-1, guard/round/sticky at 2/1/0
    logic [ExpW+1:0]      norm_exp;
    logic [ExpW+1:0]      exp_field;
    logic                 round_up;
    logic [ExpW+ManW+1:0] rounded;    // {exponent field, fraction} after rounding

    if (s1.eff_sub) begin
      sum_raw = {1'b0, s1.sig_big, 3'b000} - {1'b0, s1.sig_small};
    end else begin
      sum_raw = {1'b0, s1.sig_big, 3'b000} + {1'b0, s1.sig_small};
    end

    lz_count   = count_leading_zeros(sum_raw[AlnW-1:0]);
    norm_shift = '0;
    if (sum_raw[AlnW]) begin
      // Carry-out: shift right by one, keeping the dropped bit in the sticky bit.
      norm_sig = {sum_raw[AlnW:2], sum_raw[1] | sum_raw[0]};
      norm_exp = (ExpW+2)'(s1.exp) + (ExpW+2)'(1);
    end else begin
      // Left shift to bring the leading one to the hidden-bit position, but never below the
      // minimum exponent 1: what is still not normalised there is a subnormal result.
      if ((ExpW+2)'(lz_count) < (ExpW+2)'(s1.exp)) begin
        norm_shift = lz_count;
      end else begin
        norm_shift = ShW'(s1.exp - ExpW'(1));
      end
      norm_sig = sum_raw[AlnW-1:0] << norm_shift;
      norm_exp = (ExpW+2)'(s1.exp) - (ExpW+2)'(norm_shift);
    end

    // Subnormal results have exponent field 0. Rounding is an increment of the packed
    // {exponent, fraction}: a fraction carry moves into the exponent, which turns the largest
    // subnormal into the smallest normal and the largest finite value into infinity.
    exp_field = norm_sig[AlnW-1] ? norm_exp : '0;
    round_up  = norm_sig[2] && (norm_sig[1] || norm_sig[0] || norm_sig[3]);
    rounded   = {exp_field, norm_sig[AlnW-2:3]} + (ExpW+ManW+2)'(round_up);

    if (s1.is_nan) begin
      return CanonicalNan;
    end else if (s1.is_inf) begin
      return {s1.sign, ExpMax, {ManW{1'b0}}};
    end else if (sum_raw == '0) begin
      // Exact zero: -0 only when both operands are -0; x + (-x) is +0 under RNE.
      return {s1.sign && !s1.eff_sub, 31'b0};
    end else if (rounded[ExpW+ManW+1:ManW] >= (ExpW+2)'(ExpMax)) begin
      return {s1.sign, ExpMax, {ManW{1'b0}}};
    end
    return {s1.sign, rounded[ExpW+ManW-1:0]};
  endfunction

  logic        s1_en_q;  // s1_q was loaded in the last cycle: stage 2 has work
  logic [31:0] sum_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_en_q <= 1'b0;
    end else begin
      s1_en_q <= en_i;
    end
  end

  // Stage-2 register: loaded only when stage 1 was (the stage's logic is evaluated there).
  always_ff @(posedge clk_i) begin
    if (s1_en_q) begin
      sum_q <= stage2(s1_q);
    end
  end

  assign sum_o = sum_q;

endmodule
