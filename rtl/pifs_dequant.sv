// Row-format dequantisation stage of a downstream port: turns the 64-byte device lines of an
// embedding row stored as fp16 or as FBGEMM row-wise int8 into binary32 lines for the port
// accumulator, E output lines per device line.
//
// Configuration (static; registered here, so no logic below reads a configuration pin):
//   fmt_i  0 fp32 (3 is treated as fp32), 1 fp16, 2 int8 row-wise
//   exp_i  E, output lines per device line (0 is treated as 1)
//
// fp32: a pure combinational pass-through (out = in, in_ready_o = 1): zero added latency, so
// every fp32 behaviour and cycle count of the port is unchanged.
//
// fp16 and int8: a hold register takes one device line (in_valid_i && in_ready_o) and issues
// its E output lines k = 0 .. E-1 in the E following cycles, one per cycle; in_ready_o =
// !h_v || h_k == E-1, so back-to-back device lines stream at exactly one per E cycles. Output
// line k is computed by 16 binary32 adder lanes (pifs_fp32_add, two stages) from lane operand
// pairs (a, b) formed combinationally from the hold register; its tag (the device line's tag
// + k, TagW-bit wrap) and poison travel alongside in two pipeline registers. A device line
// taken in cycle t is issued as k = 0 in t+1, and output line k is presented on out_* in cycle
// t+3+k. Lane i of output line k:
//   fp16:  half h = data[16*(16k+i) +: 16] (zero beyond the line), a = f32(h), b = +0.0,
//          so the lane is h + 0.0 (h exactly, except that -0 becomes +0; NaN is canonical).
//   int8:  scale = data[15:0], bias = data[31:16] (fp16), q = data[8*(4+16k+i) +: 8] unsigned
//          (0 beyond the line), a = q * scale exactly as binary32, b = f32(bias), so the lane
//          is RNE binary32 of (q * scale + bias).
// There is no output ready: the accumulator takes a line in every cycle.
module pifs_dequant
  import pifs_pkg::*;
(
  input  logic              clk_i,
  input  logic              rst_ni,

  // Static configuration: row format and output lines per device line.
  input  logic [1:0]        fmt_i,
  input  logic [2:0]        exp_i,

  // Device lines (valid/ready).
  input  logic              in_valid_i,
  output logic              in_ready_o,
  input  logic [TagW-1:0]   in_tag_i,
  input  logic              in_poison_i,
  input  logic [LineW-1:0]  in_data_i,

  // binary32 lines toward the accumulator (always taken).
  output logic              out_valid_o,
  output logic [TagW-1:0]   out_tag_o,
  output logic              out_poison_o,
  output logic [LineW-1:0]  out_data_o,

  output logic              busy_o       // a device line held or output lines in flight
);

  localparam logic [1:0]  FmtFp16      = 2'd1;
  localparam logic [1:0]  FmtInt8      = 2'd2;
  localparam logic [31:0] CanonicalNan = 32'h7FC0_0000;

  ////////////////////////
  // Helper functions   //
  ////////////////////////

  // binary16 -> binary32, exact (every binary16 value is a binary32 value). NaNs keep sign and
  // payload (the adder canonicalises them).
  function automatic logic [31:0] f16_to_f32(logic [15:0] h);
    logic       s;
    logic [4:0] e;
    logic [9:0] f;
    logic [3:0] p;       // leading-one position of a subnormal fraction
    logic [22:0] norm;   // the subnormal fraction shifted to drop its leading one
    s = h[15];
    e = h[14:10];
    f = h[9:0];
    p = '0;
    for (int unsigned b = 0; b < 10; b++) begin
      if (f[b]) begin
        p = 4'(b);
      end
    end
    norm = 23'(24'(f) << (5'd23 - 5'(p)));
    if (e == '0 && f == '0) begin
      return {s, 31'b0};
    end else if (e == '0) begin
      // f * 2^-24 = 1.x * 2^(p-24): biased exponent p - 24 + 127.
      return {s, 8'(8'd103 + 8'(p)), norm};
    end else if (e == 5'h1F) begin
      return {s, 8'hFF, f, 13'b0};  // infinity (f = 0) or NaN
    end
    return {s, 8'(8'd112 + 8'(e)), f, 13'b0};
  endfunction

  // q * scale (q unsigned 0..255, scale binary16) as binary32. The product of q and the 11-bit
  // significand fits in 19 bits, so it is exact. 0 * x keeps the sign of x; 0 * inf is NaN.
  function automatic logic [31:0] int8_prod(logic [7:0] q, logic [15:0] scale);
    logic        s;
    logic [4:0]  e;
    logic [9:0]  f;
    logic [10:0] sig;    // significand: 1024 + f (normal) or f (subnormal)
    logic [18:0] m;      // q * sig, exact
    logic [4:0]  p;      // leading-one position of m
    logic [22:0] norm;   // m shifted to drop its leading one (the hidden bit)
    logic [7:0]  emin;   // max(e, 1)
    s    = scale[15];
    e    = scale[14:10];
    f    = scale[9:0];
    sig  = {e != '0, f};
    m    = 19'(q) * 19'(sig);
    emin = (e == '0) ? 8'd1 : 8'(e);
    p    = '0;
    for (int unsigned b = 0; b < 19; b++) begin
      if (m[b]) begin
        p = 5'(b);
      end
    end
    norm = 23'(24'(m) << (5'd23 - p));
    if (e == 5'h1F && f != '0) begin
      return CanonicalNan;
    end else if (e == 5'h1F) begin
      return (q == '0) ? CanonicalNan : {s, 8'hFF, 23'b0};
    end else if (q == '0 || m == '0) begin
      return {s, 31'b0};
    end
    // m * 2^(emin - 25): biased exponent p + emin - 25 + 127.
    return {s, 8'(8'd102 + 8'(p) + emin), norm};
  endfunction

  ////////////////////////
  // Configuration      //
  ////////////////////////

  logic [1:0] cfg_fmt_q;
  logic [2:0] cfg_exp_q;
  logic       dq_on;     // fp16 or int8: the hold register and adders are in the path
  logic       is_int8;
  logic [2:0] e_last;    // E - 1

  assign dq_on   = cfg_fmt_q == FmtFp16 || cfg_fmt_q == FmtInt8;
  assign is_int8 = cfg_fmt_q == FmtInt8;
  assign e_last  = (cfg_exp_q == '0) ? 3'd0 : cfg_exp_q - 3'd1;

  ////////////////////////
  // Hold register      //
  ////////////////////////

  logic              h_v_q;
  logic [2:0]        h_k_q;
  logic [TagW-1:0]   h_tag_q;
  logic              h_poison_q;
  logic [LineW-1:0]  h_data_q;
  logic              h_last;
  logic              h_ready;
  logic              h_load;

  assign h_last  = h_k_q == e_last;
  assign h_ready = !h_v_q || h_last;
  assign h_load  = dq_on && in_valid_i && h_ready;

  // Pipeline of the issued line's valid, tag and poison, beside the adders' two stages.
  logic              p1_v_q, p2_v_q;
  logic [TagW-1:0]   p1_tag_q, p2_tag_q;
  logic              p1_poison_q, p2_poison_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cfg_fmt_q <= '0;
      cfg_exp_q <= '0;
      h_v_q     <= 1'b0;
      h_k_q     <= '0;
      p1_v_q    <= 1'b0;
      p2_v_q    <= 1'b0;
    end else begin
      cfg_fmt_q <= fmt_i;
      cfg_exp_q <= exp_i;
      if (h_load) begin
        h_v_q <= 1'b1;
        h_k_q <= '0;
      end else if (h_v_q && h_last) begin
        h_v_q <= 1'b0;
      end else if (h_v_q) begin
        h_k_q <= h_k_q + 3'd1;
      end
      p1_v_q <= h_v_q;
      p2_v_q <= p1_v_q;
    end
  end

  // Payload registers (no reset: only read while their valid is set).
  always_ff @(posedge clk_i) begin
    if (h_load) begin
      h_tag_q    <= in_tag_i;
      h_poison_q <= in_poison_i;
      h_data_q   <= in_data_i;
    end
    if (h_v_q) begin
      p1_tag_q    <= h_tag_q + TagW'(h_k_q);
      p1_poison_q <= h_poison_q;
    end
    if (p1_v_q) begin
      p2_tag_q    <= p1_tag_q;
      p2_poison_q <= p1_poison_q;
    end
  end

  ////////////////////////
  // Lanes              //
  ////////////////////////

  // Output line k's operands: the halves 16k .. 16k+15 (fp16) or the bytes 4+16k .. 4+16k+15
  // (int8) of the held line, zero where they lie beyond it. They are computed only in cycles
  // with a line held (the adders sample nothing otherwise), so a simulator spends nothing on
  // them while the stage is idle or bypassed (fp32).
  logic [LineW-1:0] lane_a, lane_b;
  logic [LineW-1:0] sum;

  always_comb begin
    logic [255:0] win16;
    logic [127:0] win8;
    logic [31:0]  bias32;
    win16  = '0;
    win8   = '0;
    bias32 = '0;
    lane_a = '0;
    lane_b = '0;
    if (h_v_q) begin
      if (is_int8) begin
        win8   = 128'(h_data_q >> (11'd32 + 11'd128 * 11'(h_k_q)));
        bias32 = f16_to_f32(h_data_q[31:16]);
        for (int unsigned i = 0; i < Lanes; i++) begin
          lane_a[32 * i +: 32] = int8_prod(win8[8 * i +: 8], h_data_q[15:0]);
          lane_b[32 * i +: 32] = bias32;
        end
      end else begin
        win16 = 256'(h_data_q >> (11'd256 * 11'(h_k_q)));
        for (int unsigned i = 0; i < Lanes; i++) begin
          lane_a[32 * i +: 32] = f16_to_f32(win16[16 * i +: 16]);
        end
      end
    end
  end

  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    pifs_fp32_add u_add (
      .clk_i,
      .rst_ni,
      .en_i  (h_v_q),
      .a_i   (lane_a[32 * i +: 32]),
      .b_i   (lane_b[32 * i +: 32]),
      .sum_o (sum[32 * i +: 32])
    );
  end

  ////////////////////////
  // Outputs            //
  ////////////////////////

  assign in_ready_o   = dq_on ? h_ready : 1'b1;
  assign out_valid_o  = dq_on ? p2_v_q : in_valid_i;
  assign out_tag_o    = dq_on ? p2_tag_q : in_tag_i;
  assign out_poison_o = dq_on ? p2_poison_q : in_poison_i;
  assign out_data_o   = dq_on ? sum : in_data_i;
  assign busy_o       = h_v_q || p1_v_q || p2_v_q;

  ////////////////////////
  // Assertions         //
  ////////////////////////

  // The output line counter stays below E.
  HoldK_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    h_v_q |-> h_k_q <= e_last);
  // The hold register is used only with fp16 or int8 configured.
  HoldFmt_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    h_v_q |-> dq_on);

endmodule
