// On-switch row buffer of one downstream port: a set-associative SRAM of 64-byte lines keyed by
// line address, looked up for every MemRd the port's read engine issues (PIFS-Rec's on-switch
// buffer for hot embedding rows, Huo et al., arXiv 2409.16633).
//
//   read engine --req--> lookup --miss--> MemRd to the device (miss_*)
//                              \--hit---> hit FIFO --> accumulator line input (hit_*)
//   ingress lines into the accumulator (fill_*) --> insert (policy) or bypass
//
// Geometry: Lines lines in Lines / Ways sets; at run time en_i switches the buffer on and
// set_mask_i (sets - 1, a power of two minus one, below Lines / Ways) limits the sets used, so
// one build serves every capacity up to Lines. Set = line address & set_mask_i; the tag is the
// whole line address. Per line: valid, the line address, an LRU age (the ages of a set are a
// permutation of 0 .. Ways-1, 0 = most recent) and a saturating hotness count.
//
// Rules (sim/core/src/buffer.rs models the same ones):
// - a lookup (req transfer) is a hit or a miss. Every lookup increments the saturating counter
//   hot_q[line mod HotEntries]. A hit makes its way the most recent, increments its count, and
//   pushes {tag, data} into the hit FIFO; the request is then taken only while the hit FIFO has
//   room. A miss passes the request to miss_* unchanged (taken when miss_ready_i) and remembers
//   the line address under its tag. A miss offered and not taken stays a miss until taken.
// - a fill is an ingress line whose tag has a miss waiting. It is bypassed if poisoned or its
//   line is already present. Otherwise policy_i = 0 (LRU): victim = first invalid way, else the
//   way with the oldest age; always inserted. policy_i = 1 (hot): h = hot count of the line;
//   bypass if h < HotThreshold; victim = first invalid way, else the first way with the lowest
//   count; bypass if that way's count is above h. An inserted line gets count h and becomes the
//   most recent; replacing a valid line is an eviction.
// - in one cycle the lookup goes first, then the fill (the fill sees the lookup's updates).
module pifs_switch_buffer
  import pifs_pkg::*;
#(
  parameter int unsigned Lines        = 64,    // capacity in 64-byte lines (the largest one)
  parameter int unsigned Ways         = 4,     // associativity, 1 .. 16
  parameter int unsigned NumTags      = 256,   // tags of the port (the pending table)
  parameter int unsigned HotEntries   = 4096,  // hotness counters, a power of two
  parameter int unsigned HotBits      = 4,     // width of every hotness count (saturating)
  parameter int unsigned HotThreshold = 2,     // hot policy: smallest count inserted
  parameter int unsigned HitDepth     = 16     // hit FIFO entries (sim: BUF_HIT_DEPTH)
) (
  input  logic             clk_i,
  input  logic             rst_ni,

  // Static configuration: on/off, sets used minus one, policy (0 LRU, 1 hot). Registered: it
  // acts from the cycle after it is set (before any request can reach the buffer), and the
  // lookup then reads no configuration pin, so a simulator evaluates it once per clock edge.
  input  logic             en_i,
  input  logic [15:0]      set_mask_i,
  input  logic             policy_i,

  // Lookups: the read engine's MemRd requests (tag, 64-byte aligned byte address). Valid/ready.
  input  logic             req_valid_i,
  output logic             req_ready_o,
  input  logic [TagW-1:0]  req_tag_i,
  input  logic [AddrW-1:0] req_addr_i,

  // Misses: the MemRd requests that go to the device. Valid/ready.
  output logic             miss_valid_o,
  input  logic             miss_ready_i,
  output logic [TagW-1:0]  miss_tag_o,
  output logic [AddrW-1:0] miss_addr_o,

  // Hits: the buffered line with the request's tag, toward the accumulator. Valid/ready.
  output logic             hit_valid_o,
  input  logic             hit_ready_i,
  output logic [TagW-1:0]  hit_tag_o,
  output logic [LineW-1:0] hit_data_o,

  // Fills: every line the ingress hands to the accumulator (observed, never refused).
  input  logic             fill_valid_i,
  input  logic [TagW-1:0]  fill_tag_i,
  input  logic             fill_poison_i,
  input  logic [LineW-1:0] fill_data_i,

  // Event pulses: lookup hit, lookup miss, fill bypassed, fill evicted a valid line.
  output logic             hit_o,
  output logic             miss_o,
  output logic             bypass_o,
  output logic             evict_o,
  output logic             busy_o       // lines waiting in the hit FIFO
);

  // The registered configuration.
  logic        en_q, policy_q;
  logic [15:0] set_mask_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      en_q       <= 1'b0;
      set_mask_q <= '0;
      policy_q   <= 1'b0;
    end else begin
      en_q       <= en_i;
      set_mask_q <= set_mask_i;
      policy_q   <= policy_i;
    end
  end

  localparam int unsigned Sets  = (Ways == 0) ? 1 : Lines / Ways;
  localparam int unsigned SetW  = (Sets > 1) ? $clog2(Sets) : 1;
  localparam int unsigned WayW  = (Ways > 1) ? $clog2(Ways) : 1;
  localparam int unsigned IdxW  = (Lines > 1) ? $clog2(Lines) : 1;
  localparam int unsigned HotW  = (HotEntries > 1) ? $clog2(HotEntries) : 1;
  localparam int unsigned TagIW = (NumTags > 1) ? $clog2(NumTags) : 1;
  localparam int unsigned LAW   = AddrW - 6;  // line address bits
  localparam logic [HotBits-1:0] HotMax = '1;

  // Reset ages: way w of every set starts with age w.
  function automatic logic [Lines-1:0][WayW-1:0] age_init();
    logic [Lines-1:0][WayW-1:0] a;
    for (int unsigned i = 0; i < Lines; i++) begin
      a[i] = WayW'(i % Ways);
    end
    return a;
  endfunction

  if (Ways < 1 || Ways > 16 || Lines < Ways || Lines % Ways != 0) begin : gen_bad_geometry
    $fatal(1, "Ways must be 1..16 and Lines a non-zero multiple of Ways");
  end
  if ((Sets & (Sets - 1)) != 0 || (HotEntries & (HotEntries - 1)) != 0) begin : gen_bad_pow2
    $fatal(1, "Lines / Ways and HotEntries must be powers of two");
  end
  if (HitDepth < 1 || HotBits < 1 || HotBits > 8) begin : gen_bad_misc
    $fatal(1, "HitDepth must be >= 1 and HotBits 1..8");
  end

  // ---------------------------------------------------------------------------------------------
  // State: per line (valid, line address, age, count, data), hotness table, pending misses.
  // ---------------------------------------------------------------------------------------------
  logic [Lines-1:0]         vld_q;
  logic [LAW-1:0]           adr_q [Lines];
  logic [Lines-1:0][WayW-1:0]         age_q;
  logic [Lines-1:0][HotBits-1:0]      cnt_q;
  logic [LineW-1:0]                   data_q [Lines];
  logic [HotEntries-1:0][HotBits-1:0] hot_q;
  logic [NumTags-1:0]       pend_q;
  logic [LAW-1:0]           pend_adr_q [NumTags];
  logic                     hold_q, hold_d;

  // ---------------------------------------------------------------------------------------------
  // Lookup
  // ---------------------------------------------------------------------------------------------
  logic [LAW-1:0]  lk_adr;
  logic [SetW-1:0] lk_set;
  logic [IdxW-1:0] lk_base;
  logic            lk_hit, lk_fire, lk_hit_fire, lk_miss_fire;
  logic [WayW-1:0] lk_way;
  logic [HotW-1:0] lk_hot_idx;
  logic            hq_in_ready;

  assign lk_adr     = req_addr_i[AddrW-1:6];
  assign lk_set     = SetW'(lk_adr) & SetW'(set_mask_q);
  assign lk_base    = IdxW'(32'(lk_set) * Ways);
  assign lk_hot_idx = HotW'(lk_adr);

  always_comb begin
    lk_hit = 1'b0;
    lk_way = '0;
    for (int unsigned w = 0; w < Ways; w++) begin
      if (!lk_hit && vld_q[lk_base + IdxW'(w)] && adr_q[lk_base + IdxW'(w)] == lk_adr) begin
        lk_hit = 1'b1;
        lk_way = WayW'(w);
      end
    end
    // Off, or a miss already offered to the device: no hit.
    if (!en_q || hold_q) begin
      lk_hit = 1'b0;
    end
  end

  assign miss_valid_o = req_valid_i && !lk_hit;
  assign miss_tag_o   = req_tag_i;
  assign miss_addr_o  = req_addr_i;
  assign req_ready_o  = lk_hit ? hq_in_ready : miss_ready_i;
  assign lk_fire      = req_valid_i && req_ready_o && en_q;
  assign lk_hit_fire  = lk_fire && lk_hit;
  assign lk_miss_fire = lk_fire && !lk_hit;
  assign hold_d       = en_q && miss_valid_o && !miss_ready_i;

  // Hit FIFO: {tag, data} of each hit, to the accumulator's second line input.
  pifs_fifo #(
    .Width (TagW + LineW),
    .Depth (HitDepth)
  ) u_hit_fifo (
    .clk_i,
    .rst_ni,
    .in_valid_i  (lk_hit_fire),
    .in_ready_o  (hq_in_ready),
    .in_data_i   ({req_tag_i, data_q[lk_base + IdxW'(lk_way)]}),
    .out_valid_o (hit_valid_o),
    .out_ready_i (hit_ready_i),
    .out_data_o  ({hit_tag_o, hit_data_o})
  );

  // ---------------------------------------------------------------------------------------------
  // Next state of the lookup's set (a), then of the fill's set (b, from a's result if the same)
  // ---------------------------------------------------------------------------------------------
  logic [Ways-1:0]          a_vld, b_vld;
  logic [LAW-1:0]           a_adr [Ways];
  logic [LAW-1:0]           b_adr [Ways];
  logic [WayW-1:0]          a_age [Ways];
  logic [WayW-1:0]          b_age [Ways];
  logic [HotBits-1:0]       a_cnt [Ways];
  logic [HotBits-1:0]       b_cnt [Ways];
  logic [HotBits-1:0]       lk_hot_new;

  logic                     fl_do, fl_present, fl_ins, fl_inv_found, fl_victim_vld;
  logic [TagIW-1:0]         fl_tag;
  logic [LAW-1:0]           fl_adr;
  logic [SetW-1:0]          fl_set;
  logic [IdxW-1:0]          fl_base;
  logic [HotW-1:0]          fl_hot_idx;
  logic [HotBits-1:0]       fl_h;
  logic [WayW-1:0]          fl_inv_way, fl_lru_way, fl_cold_way, fl_victim;
  logic                     same_set;

  assign lk_hot_new = (hot_q[lk_hot_idx] == HotMax) ? HotMax : hot_q[lk_hot_idx] + 1'b1;

  assign fl_tag     = TagIW'(fill_tag_i);
  assign fl_do      = en_q && fill_valid_i && 32'(fill_tag_i) < NumTags && pend_q[fl_tag];
  assign fl_adr     = pend_adr_q[fl_tag];
  assign fl_set     = SetW'(fl_adr) & SetW'(set_mask_q);
  assign fl_base    = IdxW'(32'(fl_set) * Ways);
  assign fl_hot_idx = HotW'(fl_adr);
  assign same_set   = lk_hit_fire && fl_set == lk_set;
  assign fl_h       = (lk_fire && fl_hot_idx == lk_hot_idx) ? lk_hot_new : hot_q[fl_hot_idx];

  always_comb begin
    // (a) The lookup's set after a hit: the hit way most recent, its count up by one.
    for (int unsigned w = 0; w < Ways; w++) begin
      a_vld[w] = vld_q[lk_base + IdxW'(w)];
      a_adr[w] = adr_q[lk_base + IdxW'(w)];
      a_age[w] = age_q[lk_base + IdxW'(w)];
      a_cnt[w] = cnt_q[lk_base + IdxW'(w)];
    end
    if (lk_hit_fire) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (a_age[w] < age_q[lk_base + IdxW'(lk_way)]) begin
          a_age[w] = a_age[w] + 1'b1;
        end
      end
      a_age[lk_way] = '0;
      if (a_cnt[lk_way] != HotMax) begin
        a_cnt[lk_way] = a_cnt[lk_way] + 1'b1;
      end
    end

    // (b) The fill's set, seen after (a).
    for (int unsigned w = 0; w < Ways; w++) begin
      b_vld[w] = same_set ? a_vld[w] : vld_q[fl_base + IdxW'(w)];
      b_adr[w] = same_set ? a_adr[w] : adr_q[fl_base + IdxW'(w)];
      b_age[w] = same_set ? a_age[w] : age_q[fl_base + IdxW'(w)];
      b_cnt[w] = same_set ? a_cnt[w] : cnt_q[fl_base + IdxW'(w)];
    end
    fl_present   = 1'b0;
    fl_inv_found = 1'b0;
    fl_inv_way   = '0;
    fl_lru_way   = '0;
    fl_cold_way  = '0;
    for (int unsigned w = 0; w < Ways; w++) begin
      if (b_vld[w] && b_adr[w] == fl_adr) begin
        fl_present = 1'b1;
      end
      if (!fl_inv_found && !b_vld[w]) begin
        fl_inv_found = 1'b1;
        fl_inv_way   = WayW'(w);
      end
      if (32'(b_age[w]) == Ways - 1) begin
        fl_lru_way = WayW'(w);
      end
      if (b_cnt[w] < b_cnt[fl_cold_way]) begin
        fl_cold_way = WayW'(w);
      end
    end
    if (!policy_q) begin
      fl_victim = fl_inv_found ? fl_inv_way : fl_lru_way;
      fl_ins    = 1'b1;
    end else begin
      fl_victim = fl_inv_found ? fl_inv_way : fl_cold_way;
      fl_ins    = 32'(fl_h) >= HotThreshold && (fl_inv_found || b_cnt[fl_cold_way] <= fl_h);
    end
    fl_ins        = fl_ins && fl_do && !fill_poison_i && !fl_present;
    fl_victim_vld = b_vld[fl_victim];
    if (fl_ins) begin
      for (int unsigned w = 0; w < Ways; w++) begin
        if (b_age[w] < b_age[fl_victim]) begin
          b_age[w] = b_age[w] + 1'b1;
        end
      end
      b_age[fl_victim] = '0;
      b_vld[fl_victim] = 1'b1;
      b_adr[fl_victim] = fl_adr;
      b_cnt[fl_victim] = fl_h;
    end
  end

  assign hit_o    = lk_hit_fire;
  assign miss_o   = lk_miss_fire;
  assign bypass_o = fl_do && !fl_ins;
  assign evict_o  = fl_ins && fl_victim_vld;
  assign busy_o   = hit_valid_o;

  // ---------------------------------------------------------------------------------------------
  // Registers. The per-line arrays and tables are SRAM-like: indexed writes of one set (two
  // sets when a hit and an insertion touch different ones), reset where the rules need it.
  // ---------------------------------------------------------------------------------------------
  logic wr_a, wr_b;
  assign wr_a = lk_hit_fire && !(fl_ins && same_set);
  assign wr_b = fl_ins;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      vld_q  <= '0;
      pend_q <= '0;
      hold_q <= 1'b0;
      age_q  <= age_init();
      cnt_q  <= '0;
      /* verilator lint_off WIDTHCONCAT */
      hot_q  <= '0;  // HotEntries x HotBits bits, a wide clear by design
      /* verilator lint_on WIDTHCONCAT */
    end else begin
      hold_q <= hold_d;
      if (lk_fire) begin
        hot_q[lk_hot_idx] <= lk_hot_new;
      end
      if (fl_do) begin
        pend_q[fl_tag] <= 1'b0;
      end
      if (lk_miss_fire && 32'(req_tag_i) < NumTags) begin
        pend_q[TagIW'(req_tag_i)] <= 1'b1;
      end
      for (int unsigned w = 0; w < Ways; w++) begin
        if (wr_a) begin
          age_q[lk_base + IdxW'(w)] <= a_age[w];
          cnt_q[lk_base + IdxW'(w)] <= a_cnt[w];
        end
        if (wr_b) begin
          vld_q[fl_base + IdxW'(w)] <= b_vld[w];
          age_q[fl_base + IdxW'(w)] <= b_age[w];
          cnt_q[fl_base + IdxW'(w)] <= b_cnt[w];
        end
      end
    end
  end

  // Line addresses, data and pending addresses: written when used, no reset (read only where
  // a valid or pending bit says they were written).
  always_ff @(posedge clk_i) begin
    if (wr_b) begin
      adr_q[fl_base + IdxW'(fl_victim)]  <= fl_adr;
      data_q[fl_base + IdxW'(fl_victim)] <= fill_data_i;
    end
    if (lk_miss_fire && 32'(req_tag_i) < NumTags) begin
      pend_adr_q[TagIW'(req_tag_i)] <= lk_adr;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // A MemRd offered to the device holds its tag and address until it transfers.
  MissStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    miss_valid_o && !miss_ready_i |=> miss_valid_o && $stable(miss_tag_o) && $stable(miss_addr_o));
  // The set mask selects sets that exist.
  SetMaskInRange_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    en_q |-> 32'(set_mask_q) < Sets);
  // A line is never buffered twice in one set.
  NoDuplicateFill_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    fl_ins |-> !fl_present);

endmodule
