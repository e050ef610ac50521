// Shared widths, CXL.mem field positions, slot formats and the host command format of the
// PIFS-Rec switch-port RTL. Bit conventions follow shared/DESIGN.md section 6.
package pifs_pkg;

  // Not every module uses every shared constant.
  /* verilator lint_off UNUSEDPARAM */

  // ---------------------------------------------------------------------------------------------
  // 68-byte link-layer flit (CXL 1.1/2.0 and 3.x 68B flit mode): 512 payload bits + 16 CRC bits.
  // Flit bit i is bit (i mod 8) of byte i/8; the CRC sits in bits 527:512 (little-endian).
  // ---------------------------------------------------------------------------------------------
  localparam int unsigned FlitW    = 528;
  localparam int unsigned PayloadW = 512;
  localparam int unsigned SlotW    = 128;
  localparam int unsigned ChunkW   = 128;  // one 16-byte data chunk (a G0 slot)
  localparam int unsigned LineW    = 512;  // one 64-byte cache line
  localparam int unsigned Lanes    = 16;   // binary32 lanes per line
  localparam int unsigned TagW     = 16;

  // Flit header fields (bits of the first 32 payload bits).
  localparam int unsigned HdrTypeBit = 0;   // 0 protocol, 1 control
  localparam int unsigned HdrSlot0Lo = 5;   // Slot0 format 7:5, Slot1 10:8, Slot2 13:11, Slot3 16:14

  // Link-layer retry (sim/cxl/src/llr.rs, docs/link-faults.md). A RETRY control flit: Type = 1
  // and no other header bit, LLCTRL type at flit bits 35:32, sub-type at 39:36, the sequence number
  // at 47:40, every other payload bit zero. Sequence numbers are 8 bits.
  localparam int unsigned LlrSeqW     = 8;
  localparam logic [3:0]  LlctrlRetry = 4'b0001;  // DESIGN.md section 6: RETRY 0001
  localparam logic [3:0]  RetryAck    = 4'b0010;  // RETRY.Ack sub-type (RETRY.Req is 0001)

  // S2M slot format codes (3-bit slot format fields). Slot 0 holds H formats, slots 1-3 G formats.
  localparam logic [2:0] FmtG0 = 3'd0;  // 16-byte data chunk
  localparam logic [2:0] FmtH3 = 3'd3;  // DRS + NDR
  localparam logic [2:0] FmtH4 = 3'd4;  // 2 NDR            (slot 0)
  localparam logic [2:0] FmtG4 = 3'd4;  // DRS + 2 NDR      (slots 1-3)
  localparam logic [2:0] FmtH5 = 3'd5;  // 2 DRS            (slot 0)
  localparam logic [2:0] FmtG5 = 3'd5;  // 2 NDR            (slots 1-3; project choice, see DESIGN.md)
  localparam logic [2:0] FmtG6 = 3'd6;  // 3 DRS

  // S2M message widths and field positions (CXL 2.0, LSB first).
  localparam int unsigned DrsW = 40;
  localparam int unsigned NdrW = 30;
  localparam int unsigned DrsOpcodeLo = 1;   // Opcode[3:1]
  localparam int unsigned DrsTagLo    = 8;   // Tag[23:8]
  localparam int unsigned DrsPoison   = 24;
  localparam logic [2:0]  DrsMemData  = 3'b000;
  localparam int unsigned NdrOpcodeLo = 1;   // Opcode[3:1]
  localparam logic [2:0]  NdrMaxOpcode = 3'b010;  // Cmp 000, Cmp-S 001, Cmp-E 010

  // Per-flit maxima (DESIGN.md section 6).
  localparam int unsigned MaxDrsPerFlit = 3;
  localparam int unsigned MaxNdrPerFlit = 2;

  // ---------------------------------------------------------------------------------------------
  // Host command word (64 bits). A downstream-port accumulator (pifs_port_acc) reads BagOpen and
  // RowMap with the port field zero; the switch (pifs_switch_top) takes all three ops on its one
  // host command stream, routes them by the port field, and clears the field before forwarding.
  //   BagOpen, RowMap:
  //   [63:60] op      CmdBagOpen or CmdRowMap
  //   [59:56] port    switch only: downstream port 0 .. NumPorts-1 (zero at a port accumulator)
  //   [55:48] bag     bag slot (0 .. NumBags-1)
  //   [47:32] tag     RowMap: first tag of the row; line l of the row arrives with tag + l
  //   [31:16] rows    BagOpen: number of rows the bag has at this port (0 allowed)
  //   [3:0]   lines   BagOpen: row size in 64-byte lines (1 .. MaxRowLines)
  //   All other bits are reserved and must be zero.
  //   RowRead (switch only; the port's dispatcher maps the row like RowMap, then issues `lines`
  //   M2S MemRd requests, line l with tag + l at byte address (line_addr + l) * 64; with fp16 or
  //   int8 rows (fmt_i) each device line widens to E = fmt_exp_i lines, so it issues
  //   ceil(lines / E) requests, device line l with tag + l * E):
  //   [63:60] op      CmdRowRead
  //   [59:56] port    downstream port 0 .. NumPorts-1
  //   [55:52] bag     bag slot (0 .. NumBags-1, at most 16)
  //   [51:48] lines   row size in 64-byte lines (1 .. MaxRowLines); must equal the bag's
  //   [47:40] tag     first tag of the row (0 .. 255)
  //   [39:0]  line    line address of the row's first line, in 64-byte units (byte address < 2^46)
  // ---------------------------------------------------------------------------------------------
  localparam int unsigned CmdW      = 64;
  localparam int unsigned PortW     = 4;    // command port field, up to 16 ports
  localparam int unsigned CmdPortLo = 56;
  localparam int unsigned LineAddrW = 40;   // RowRead line address, 64-byte units
  localparam int unsigned AddrW     = 52;   // M2S Req byte address, Addr[51:0]
  typedef enum logic [3:0] {
    CmdNop     = 4'h0,
    CmdBagOpen = 4'h1,
    CmdRowMap  = 4'h2,
    CmdRowRead = 4'h3
  } cmd_op_e;

  // One partial-sum line on its way upstream (a port's result stream, an egress FIFO entry).
  typedef struct packed {
    logic [7:0]       bag;
    logic [3:0]       line;
    logic             last;
    logic             poison;
    logic [LineW-1:0] data;
  } res_line_t;

  // ---------------------------------------------------------------------------------------------
  // CRC-16 of the flit payload: generator 0x1F053, register starting at 0, bytes 0..63 in order,
  // each byte most significant bit first, no final XOR. The CRC is linear in the payload, so bit
  // i of the CRC is the parity of the payload under a constant mask (an XOR tree, as the spec
  // describes it). The masks are computed at elaboration time.
  // ---------------------------------------------------------------------------------------------
  localparam logic [15:0] CrcPoly = 16'hF053;  // x^16 term implicit

  function automatic logic [15:0][PayloadW-1:0] crc_masks();
    logic [15:0][PayloadW-1:0] m;
    logic [15:0] r;
    logic [8:0] bit_idx;
    m = '0;
    // The payload bit streamed last (stream position 511) contributes x^16 mod G = CrcPoly;
    // each earlier position one more power of x.
    r = CrcPoly;
    for (int k = PayloadW - 1; k >= 0; k--) begin
      bit_idx = 9'((k / 8) * 8 + (7 - (k % 8)));
      for (int i = 0; i < 16; i++) begin
        m[i][bit_idx] = r[i];
      end
      r = {r[14:0], 1'b0} ^ (r[15] ? CrcPoly : 16'h0000);
    end
    return m;
  endfunction

  localparam logic [15:0][PayloadW-1:0] CrcMasks = crc_masks();

  function automatic logic [15:0] crc16(logic [PayloadW-1:0] payload);
    logic [15:0] crc;
    for (int i = 0; i < 16; i++) begin
      crc[i] = ^(payload & CrcMasks[i]);
    end
    return crc;
  endfunction

  /* verilator lint_on UNUSEDPARAM */

  // The payload of the RETRY.Ack flit that answers a RETRY.Req for sequence number `seq`.
  function automatic logic [PayloadW-1:0] retry_ack_payload(logic [LlrSeqW-1:0] seq);
    logic [PayloadW-1:0] p;
    p          = '0;
    p[HdrTypeBit] = 1'b1;
    p[39:32]   = {RetryAck, LlctrlRetry};
    p[47:40]   = seq;
    return p;
  endfunction

endpackage
