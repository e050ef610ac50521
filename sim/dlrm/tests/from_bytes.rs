//! The in-memory readers (`read_trace_npz_bytes`, `read_weights_npz_bytes`, used by the fuzz
//! targets) read what the path readers read, and name the given source in their errors.

use pifs_dlrm::*;

#[test]
fn bytes_readers_agree_with_path_readers() {
    let dir = std::env::temp_dir().join(format!("pifs-from-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = Trace {
        tables: 2,
        batch: 2,
        indices: vec![0, 3, 1, 2, 2, 0],
        offsets: vec![0, 2, 3, 5, 6],
    };
    let tp = dir.join("t.npz");
    write_trace_npz(&tp, &trace).unwrap();
    let bytes = std::fs::read(&tp).unwrap();
    assert_eq!(
        read_trace_npz_bytes("mem.npz", &bytes, None).unwrap(),
        trace
    );
    assert_eq!(read_trace_npz(&tp, None).unwrap(), trace);
    let tables = vec![Table {
        rows: 2,
        data: vec![1.0, -2.0, 3.5, 0.25],
    }];
    let wp = dir.join("w.npz");
    write_weights_npz(&wp, &tables, 2).unwrap();
    let wb = std::fs::read(&wp).unwrap();
    assert_eq!(
        read_weights_npz_bytes("mem.npz", &wb, None).unwrap(),
        read_weights_npz(&wp, None).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();

    let e = read_trace_npz_bytes("mem.npz", &[], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mem.npz") && e.contains("empty"), "{e}");
    let e = read_weights_npz_bytes("w.bin", b"PK\x03\x04junk", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("w.bin") && e.contains("zip"), "{e}");
    // A truncated archive (the trace cut in half) is one error, not a panic.
    let e = read_trace_npz_bytes("half.npz", &bytes[..bytes.len() / 2], None).unwrap_err();
    assert!(e.to_string().contains("half.npz"), "{e}");
}
