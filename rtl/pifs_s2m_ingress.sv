// Downstream-port ingress: takes one 68-byte S2M link-layer flit per cycle, checks its CRC,
// unpacks the CXL.mem slot formats (H3, H4, H5 in slot 0; G0, G4, G5, G6 in slots 1-3; all-data
// flits) and assembles the data chunks of every MemData response into 64-byte lines.
//
// Data-chunk rules (shared/DESIGN.md section 6): every valid DRS queues 4 chunks in header order;
// a G0 slot carries the next queued chunk; with 4 or more chunks queued at the end of a flit the
// next flit is an all-data flit, otherwise the remaining r chunks sit in slots 1..r of the next
// header flit. A flit carries at most 4 chunks, so at most one line completes per flit: the
// ingress keeps line rate with an input register (the flit) and an output register (the line).
// A flit taken in cycle t is decoded in t+1; its line, if it completes one, is valid in t+2.
//
// A flit with a bad CRC, or one that breaks a packing rule, is dropped whole (state unchanged)
// and reported on crc_err_o / proto_err_o for one cycle. Control flits (Type = 1) are skipped.
//
// Link-layer retry (llr_en_i high; docs/link-faults.md, the receiver of sim/cxl/src/llr.rs):
// every protocol flit with a good CRC takes the next implicit 8-bit sequence number (ESeq counts
// them). A flit with a bad CRC raises RETRY.Req(ESeq) on llr_*_o and enters the retry state, in
// which every flit is discarded (llr_discard_o for a good one) until the RETRY.Ack flit for ESeq
// arrives; without it, RETRY.Req is raised again every RetryTimeout cycles. Each time ESeq reaches
// a multiple of AckEvery, an acknowledgement of ESeq is raised. With llr_en_i low none of this
// happens and a bad flit is only dropped.
module pifs_s2m_ingress
  import pifs_pkg::*;
#(
  parameter int unsigned RetryTimeout = 256,  // cycles between RETRY.Req while waiting, >= 1
  parameter int unsigned AckEvery     = 8     // flits per acknowledgement, a power of two <= 128
) (
  input  logic               clk_i,
  input  logic               rst_ni,

  // Link-layer flits from the device side. A flit transfers when valid and ready are both high.
  input  logic               flit_valid_i,
  output logic               flit_ready_o,
  input  logic [FlitW-1:0]   flit_i,

  // Completed MemData lines, in the order their DRS headers appeared. Valid/ready stream.
  output logic               line_valid_o,
  input  logic               line_ready_i,
  output logic [TagW-1:0]    line_tag_o,
  output logic               line_poison_o,
  output logic [LineW-1:0]   line_data_o,

  // Event pulses (one cycle, in the cycle after a flit transfers, when it is decoded).
  output logic               crc_err_o,      // the flit failed its CRC and was dropped
  output logic               proto_err_o,    // the flit broke a packing rule and was dropped
  output logic [1:0]         ndr_o,          // number of valid NDR messages in the flit
  output logic               busy_o,         // a flit or a line is held

  // Link-layer retry: enable (static; registered, so it acts from the cycle after it rises,
  // before any flit taken then is decoded), and the receiver's messages to the sender, one per cycle
  // at most, raised in the cycle a flit is checked (or a timeout expires): llr_req_o = 1 is a
  // RETRY.Req for sequence number llr_seq_o (ESeq), 0 an acknowledgement of every flit before it.
  input  logic               llr_en_i,
  output logic               llr_valid_o,
  output logic               llr_req_o,
  output logic [LlrSeqW-1:0] llr_seq_o,
  output logic               llr_discard_o   // a good flit discarded while waiting for the replay
);

  if (RetryTimeout < 1 || AckEvery < 1 || AckEvery > 128 || (AckEvery & (AckEvery - 1)) != 0)
  begin : gen_bad_params
    $fatal(1, "pifs_s2m_ingress: RetryTimeout must be >= 1, AckEvery a power of two <= 128");
  end

  localparam int unsigned TmoW = (RetryTimeout > 1) ? $clog2(RetryTimeout) : 1;
  localparam logic [LlrSeqW-1:0] AckMask = LlrSeqW'(AckEvery - 1);

  localparam int unsigned HdrQDepth = 4;  // at most 1 partial line + 3 new DRS per flit

  typedef struct packed {
    logic [TagW-1:0] tag;
    logic            poison;
  } drs_hdr_t;

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------
  drs_hdr_t [HdrQDepth-1:0] hq_d, hq_q;       // DRS headers waiting for data, head at index 0
  logic [2:0]               hq_cnt_d, hq_cnt_q;
  logic [1:0]               ck_d, ck_q;       // chunks of the head line already collected
  logic [LineW-1:0]         lbuf_d, lbuf_q;   // the head line's collected chunks
  logic                     out_valid_d, out_valid_q;
  drs_hdr_t                 out_hdr_d, out_hdr_q;
  logic [LineW-1:0]         out_data_d, out_data_q;

  // Link-layer retry state: ESeq, waiting for a replay, cycles left until the next RETRY.Req.
  logic [LlrSeqW-1:0] eseq_d, eseq_q;
  logic               retry_d, retry_q;
  logic [TmoW-1:0]    tmo_d, tmo_q;

  // Input register: a flit is taken into in_flit_q, then checked and decoded in the next cycle
  // (dec_fire) when the output register can take its line. The CRC tree and the slot decode thus
  // start from a register, not from the port's pins.
  logic             in_valid_d, in_valid_q;
  logic [FlitW-1:0] in_flit_q;
  // The retry enable, registered like the flit: the decode below then reads no pin at all, so
  // a simulator evaluates it once per clock edge instead of again whenever an input changes.
  logic             llr_en_q;
  logic             dec_ok;     // the flit in in_flit_q can be decoded this cycle
  logic             dec_fire;
  logic             flit_fire;
  assign dec_ok       = !out_valid_q || line_ready_i;
  assign dec_fire     = in_valid_q && dec_ok;
  assign flit_ready_o = !in_valid_q || dec_ok;
  assign flit_fire    = flit_valid_i && flit_ready_o;
  assign in_valid_d   = flit_fire || (in_valid_q && !dec_ok);
  assign busy_o       = in_valid_q || out_valid_q;

  // Queued chunks still to come; 4 or more means this flit is an all-data flit.
  logic [4:0] pending;
  assign pending = {hq_cnt_q, 2'b00} - {3'b000, ck_q};

  // ---------------------------------------------------------------------------------------------
  // Flit decode: slots processed in order, with blocking updates of the working copies.
  // ---------------------------------------------------------------------------------------------
  drs_hdr_t [HdrQDepth-1:0] w_hq;
  logic [2:0]               w_cnt;
  logic [1:0]               w_ck;
  logic [LineW-1:0]         w_buf;
  logic                     w_emit;
  drs_hdr_t                 w_emit_hdr;
  logic [LineW-1:0]         w_emit_data;
  logic                     w_err;
  logic [1:0]               w_ndr;
  logic [2:0]               w_drs;

  function automatic logic [2:0] slot_fmt(logic [FlitW-1:0] f, int unsigned s);
    return f[HdrSlot0Lo + 3 * s +: 3];
  endfunction

  always_comb begin
    logic       crc_ok;
    logic       all_data;
    logic [4:0] carry;
    logic [2:0] fmt;
    logic [SlotW-1:0] slot;

    w_hq        = hq_q;
    w_cnt       = hq_cnt_q;
    w_ck        = ck_q;
    w_buf       = lbuf_q;
    w_emit      = 1'b0;
    w_emit_hdr  = '0;
    w_emit_data = '0;
    w_err       = 1'b0;
    w_ndr       = '0;
    w_drs       = '0;
    slot        = '0;
    fmt         = '0;

    crc_ok   = crc16(in_flit_q[PayloadW-1:0]) == in_flit_q[FlitW-1:PayloadW];
    all_data = pending >= 5'd4;
    carry    = pending;

    if (all_data) begin
      for (int c = 0; c < 4; c++) begin
        take_chunk(in_flit_q[c * ChunkW +: ChunkW]);
      end
    end else if (!in_flit_q[HdrTypeBit]) begin
      // Slot 0: 96 payload bits at flit bits [127:32].
      slot = {32'h0, in_flit_q[127:32]};
      unique case (slot_fmt(in_flit_q, 0))
        FmtH3: begin
          take_drs(slot[0 +: DrsW]);
          take_ndr(slot[DrsW +: 4]);
        end
        FmtH4: begin
          take_ndr(slot[0 +: 4]);
          take_ndr(slot[NdrW +: 4]);
        end
        FmtH5: begin
          take_drs(slot[0 +: DrsW]);
          take_drs(slot[DrsW +: DrsW]);
        end
        default: w_err = 1'b1;  // H0-H2 are CXL.cache formats; 6 and 7 are not slot-0 formats
      endcase
      for (int s = 1; s < 4; s++) begin
        slot = in_flit_q[s * SlotW +: SlotW];
        fmt  = slot_fmt(in_flit_q, s);
        // Chunks left over from the previous flit must come first, in slots 1..carry.
        if ((5'(s) <= carry) && (fmt != FmtG0)) begin
          w_err = 1'b1;
        end
        unique case (fmt)
          FmtG0: take_chunk(slot);
          FmtG4: begin
            take_drs(slot[0 +: DrsW]);
            take_ndr(slot[DrsW +: 4]);
            take_ndr(slot[DrsW + NdrW +: 4]);
          end
          FmtG5: begin
            take_ndr(slot[0 +: 4]);
            take_ndr(slot[NdrW +: 4]);
          end
          FmtG6: begin
            take_drs(slot[0 +: DrsW]);
            take_drs(slot[DrsW +: DrsW]);
            take_drs(slot[2 * DrsW +: DrsW]);
          end
          default: w_err = 1'b1;
        endcase
      end
    end

    // Default next state: hold. A good flit commits its working copies; a bad one is dropped.
    hq_d        = hq_q;
    hq_cnt_d    = hq_cnt_q;
    ck_d        = ck_q;
    lbuf_d      = lbuf_q;
    out_valid_d = out_valid_q && !line_ready_i;
    out_hdr_d   = out_hdr_q;
    out_data_d  = out_data_q;
    crc_err_o   = 1'b0;
    proto_err_o = 1'b0;
    ndr_o       = '0;
    eseq_d        = eseq_q;
    retry_d       = retry_q;
    tmo_d         = tmo_q;
    llr_valid_o   = 1'b0;
    llr_req_o     = 1'b0;
    llr_seq_o     = eseq_q;
    llr_discard_o = 1'b0;
    if (dec_fire) begin
      if (!crc_ok) begin
        crc_err_o = 1'b1;
        if (llr_en_q && !retry_q) begin
          llr_valid_o = 1'b1;
          llr_req_o   = 1'b1;
        end
      end else if (llr_en_q && retry_q) begin
        // Waiting for the replay: only the RETRY.Ack for ESeq ends the wait.
        if (in_flit_q[PayloadW-1:0] == retry_ack_payload(eseq_q)) begin
          retry_d = 1'b0;
        end else begin
          llr_discard_o = 1'b1;
        end
      end else if (!all_data && in_flit_q[HdrTypeBit]) begin
        // A control flit: skipped, takes no sequence number.
      end else if (w_err) begin
        proto_err_o = 1'b1;
      end else begin
        hq_d     = w_hq;
        hq_cnt_d = w_cnt;
        ck_d     = w_ck;
        lbuf_d   = w_buf;
        ndr_o    = w_ndr;
        if (w_emit) begin
          out_valid_d = 1'b1;
          out_hdr_d   = w_emit_hdr;
          out_data_d  = w_emit_data;
        end
      end
      // A protocol flit with a good CRC outside a retry takes a sequence number.
      if (crc_ok && !(llr_en_q && retry_q) && !(!all_data && in_flit_q[HdrTypeBit])) begin
        eseq_d = eseq_q + 1'b1;
        if (llr_en_q && (eseq_d & AckMask) == '0) begin
          llr_valid_o = 1'b1;
          llr_seq_o   = eseq_d;
        end
      end
    end
    // Retry timer: a RETRY.Req (new or repeated) restarts it; at zero the request is repeated.
    if (llr_en_q && retry_q && retry_d && tmo_q == '0) begin
      llr_valid_o = 1'b1;
      llr_req_o   = 1'b1;
    end
    if (llr_valid_o && llr_req_o) begin
      retry_d = 1'b1;
      tmo_d   = TmoW'(RetryTimeout - 1);
    end else if (retry_q) begin
      tmo_d = tmo_q - 1'b1;
    end
  end

  // One data chunk: goes to the head line; the 4th chunk completes it.
  task automatic take_chunk(logic [ChunkW-1:0] chunk);
    if (w_cnt == 3'd0) begin
      w_err = 1'b1;  // G0 with nothing queued
    end else begin
      w_buf[w_ck * ChunkW +: ChunkW] = chunk;
      if (w_ck == 2'd3) begin
        w_emit      = 1'b1;
        w_emit_hdr  = w_hq[0];
        w_emit_data = w_buf;
        for (int i = 0; i < HdrQDepth - 1; i++) begin
          w_hq[i] = w_hq[i + 1];
        end
        w_hq[HdrQDepth-1] = '0;
        w_cnt = w_cnt - 3'd1;
        w_ck  = 2'd0;
        w_buf = '0;
      end else begin
        w_ck = w_ck + 2'd1;
      end
    end
  endtask

  task automatic take_drs(logic [DrsW-1:0] m);
    if (m[0]) begin
      if (m[DrsOpcodeLo +: 3] != DrsMemData || w_drs == 3'(MaxDrsPerFlit)
          || w_cnt == 3'(HdrQDepth)) begin
        w_err = 1'b1;
      end else begin
        w_hq[w_cnt[1:0]] = '{tag: m[DrsTagLo +: TagW], poison: m[DrsPoison]};
        w_cnt = w_cnt + 3'd1;
        w_drs = w_drs + 3'd1;
      end
    end
  endtask

  // An NDR: only its Valid bit and opcode matter here (field positions as the DRS).
  task automatic take_ndr(logic [3:0] m);
    if (m[0]) begin
      if (m[NdrOpcodeLo +: 3] > NdrMaxOpcode || w_ndr == 2'(MaxNdrPerFlit)) begin
        w_err = 1'b1;
      end else begin
        w_ndr = w_ndr + 2'd1;
      end
    end
  endtask

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      hq_q        <= '0;
      hq_cnt_q    <= '0;
      ck_q        <= '0;
      lbuf_q      <= '0;
      out_valid_q <= 1'b0;
      out_hdr_q   <= '0;
      out_data_q  <= '0;
      in_valid_q  <= 1'b0;
      eseq_q      <= '0;
      retry_q     <= 1'b0;
      tmo_q       <= '0;
      llr_en_q    <= 1'b0;
    end else begin
      hq_q        <= hq_d;
      hq_cnt_q    <= hq_cnt_d;
      ck_q        <= ck_d;
      lbuf_q      <= lbuf_d;
      out_valid_q <= out_valid_d;
      out_hdr_q   <= out_hdr_d;
      out_data_q  <= out_data_d;
      in_valid_q  <= in_valid_d;
      eseq_q      <= eseq_d;
      retry_q     <= retry_d;
      tmo_q       <= tmo_d;
      llr_en_q    <= llr_en_i;
    end
  end

  // The input flit register (no reset: only read while in_valid_q is set).
  always_ff @(posedge clk_i) begin
    if (flit_fire) begin
      in_flit_q <= flit_i;
    end
  end

  assign line_valid_o  = out_valid_q;
  assign line_tag_o    = out_hdr_q.tag;
  assign line_poison_o = out_hdr_q.poison;
  assign line_data_o   = out_data_q;

  // ---------------------------------------------------------------------------------------------
  // Assertions
  // ---------------------------------------------------------------------------------------------
  // A stalled line holds its payload until it transfers.
  LineStable_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    line_valid_o && !line_ready_i |=> line_valid_o && $stable(line_tag_o)
                                      && $stable(line_data_o) && $stable(line_poison_o));
  // The header queue never holds more than its depth.
  HdrQBound_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    hq_cnt_q <= 3'(HdrQDepth));
  // The retry state is only entered with link-layer retry on.
  RetryNeedsLlr_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    retry_q |-> llr_en_q);
  // A partially collected line always has a header to belong to.
  ChunkHasHdr_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
    ck_q != 2'd0 |-> hq_cnt_q != 3'd0);

endmodule
