//! `pifs-soak` (run by `make soak`): the back-pressure and load soak of [`pifs_tb::soak`]. The
//! port soak and the switch soak run side by side on two threads, each on one Verilated model
//! for all its cycles (no reset between scenarios), every bag checked; a deadlock watchdog stops
//! a run that makes no progress with a dump of what is stuck. Prints the counts and the seed;
//! exit 0 only if everything passed, 1 on a failed check, an assertion or a watchdog stop, 2 on
//! bad usage.

use clap::Parser;
use pifs_rng::splitmix64;
use pifs_tb::soak::{self, Inject, PortSoakCounts, Soaked, SwitchSoakCounts, WATCHDOG_CYCLES};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The environment variable the Verilated harnesses pass to every context's commandArgs.
const ARGS_ENV: &str = "PIFS_VERILATOR_ARGS";

#[derive(Parser)]
#[command(
    name = "pifs-soak",
    about = "Back-pressure and load soak of the port and switch RTL with a deadlock watchdog",
    after_help = "Exit status: 0 every scenario passed, 1 a check, an assertion or the watchdog failed, 2 bad usage."
)]
struct Args {
    /// Cycles to simulate in all, half in the port soak and half in the switch soak.
    #[arg(long, default_value_t = 10_000_000)]
    cycles: u64,
    /// Seed of the stimulus and the stalls (default: from the clock, printed).
    #[arg(long, value_parser = parse_u64)]
    seed: Option<u64>,
    /// Run one soak only (it gets all the cycles): port or switch.
    #[arg(long, value_parser = ["port", "switch"])]
    only: Option<String>,
    /// Watchdog limit: cycles without forward progress before the run stops with a dump.
    #[arg(long, default_value_t = WATCHDOG_CYCLES)]
    watchdog: u64,
    /// Random initial register values: every model gets +verilator+rand+reset+2 and
    /// +verilator+seed+N (N from the seed); first checks that two Verilator seeds give different
    /// uninitialised values and the same sums. Needs models Verilated with --x-initial unique
    /// (make soak builds them so, in target/soak).
    #[arg(long)]
    rand_reset: bool,
    /// Inject a fault the watchdog must catch (its self-test): res-ready-never (the port's
    /// result stream is never ready) or credits-never (no upstream credit is ever returned).
    #[arg(long, value_parser = parse_inject)]
    inject: Option<Inject>,
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?}: {e}"))
}

fn parse_inject(s: &str) -> Result<Inject, String> {
    Inject::parse(s).ok_or_else(|| format!("{s:?}: expected res-ready-never or credits-never"))
}

/// A Verilator runtime seed (1 .. 2^31-1) derived from the soak seed and a stream number.
fn verilator_seed(seed: u64, stream: u64) -> u64 {
    let mut s = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    splitmix64(&mut s) % 0x7FFF_FFFE + 1
}

fn rand_reset_args(vseed: u64) -> String {
    format!("+verilator+rand+reset+2 +verilator+seed+{vseed}")
}

fn main() {
    let args = Args::parse();
    std::process::exit(match run(&args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("pifs-soak: error: {e}");
            2
        }
    });
}

/// Ok(all passed); Err on bad usage.
fn run(a: &Args) -> Result<bool, String> {
    if a.cycles == 0 {
        return Err("--cycles: must be at least 1".into());
    }
    if a.watchdog == 0 {
        return Err("--watchdog: must be at least 1 cycle".into());
    }
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 % 1_000_000_000)
    });
    let (port_cycles, switch_cycles) = match a.only.as_deref() {
        Some("port") => (a.cycles, 0),
        Some("switch") => (0, a.cycles),
        _ => (a.cycles.div_ceil(2), a.cycles / 2),
    };
    eprintln!(
        "soak: seed {seed} (replay: make soak SEED={seed} SOAK_CYCLES={}), watchdog {} cycles",
        a.cycles, a.watchdog
    );
    let t0 = Instant::now();
    let mut ok = true;
    if a.rand_reset {
        // Single-threaded here: the models built below read the variable when they start.
        let (va, vb) = (verilator_seed(seed, 1), verilator_seed(seed, 2));
        let mut looks = Vec::new();
        for v in [va, vb] {
            std::env::set_var(ARGS_ENV, rand_reset_args(v));
            match soak::reset_look(seed) {
                Ok(l) => looks.push(l),
                Err(e) => {
                    eprintln!("soak: FAIL: {e}");
                    return Ok(false);
                }
            }
        }
        let (a0, b0) = (&looks[0], &looks[1]);
        println!(
            "rand reset: result FIFO entry 0 right after reset (never written by reset): Verilator seed {va}: {:08x} {:08x}.., seed {vb}: {:08x} {:08x}..; sums {} and {}",
            a0.0[0], a0.0[1], b0.0[0], b0.0[1], a0.1, b0.1
        );
        if a0.0 == b0.0 {
            eprintln!(
                "soak: FAIL: two Verilator seeds gave the same uninitialised values: the model does not randomise them (Verilate with --x-initial unique, as make soak does)"
            );
            ok = false;
        }
        if a0.1 != b0.1 {
            eprintln!("soak: FAIL: the sums depend on the initial register values");
            ok = false;
        }
        std::env::set_var(ARGS_ENV, rand_reset_args(verilator_seed(seed, 0)));
    }
    if let Ok(v) = std::env::var(ARGS_ENV) {
        eprintln!("soak: Verilator runtime arguments: {v}");
    }

    // Progress every tenth of a soak; a failed soak stops the other one.
    let log = Mutex::new(());
    let stop = AtomicBool::new(false);
    let report = |what: &str, target: u64, next: &mut u64, now: u64| {
        if now >= *next {
            let _g = log.lock();
            eprintln!(
                "soak: {what} {now} / {target} cycles ({:.0} s)",
                t0.elapsed().as_secs_f64()
            );
            while *next <= now {
                *next += target.div_ceil(10).max(1);
            }
        }
        !stop.load(Ordering::Relaxed)
    };
    let (port, switch) = std::thread::scope(|s| {
        let port = s.spawn(|| {
            (port_cycles > 0).then(|| {
                let mut next = port_cycles.div_ceil(10);
                let r = soak::soak_port(seed, port_cycles, a.watchdog, a.inject, &mut |now| {
                    report("port", port_cycles, &mut next, now)
                });
                if r.error.is_some() {
                    stop.store(true, Ordering::Relaxed);
                }
                r
            })
        });
        let switch = s.spawn(|| {
            (switch_cycles > 0).then(|| {
                let mut next = switch_cycles.div_ceil(10);
                let r = soak::soak_switch(seed, switch_cycles, a.watchdog, a.inject, &mut |now| {
                    report("switch", switch_cycles, &mut next, now)
                });
                if r.error.is_some() {
                    stop.store(true, Ordering::Relaxed);
                }
                r
            })
        });
        (
            port.join().unwrap_or_else(|_| {
                Some(Soaked {
                    counts: PortSoakCounts::default(),
                    error: Some("port soak panicked".into()),
                    stopped: false,
                })
            }),
            switch.join().unwrap_or_else(|_| {
                Some(Soaked {
                    counts: SwitchSoakCounts::default(),
                    error: Some("switch soak panicked".into()),
                    stopped: false,
                })
            }),
        )
    });
    let secs = t0.elapsed().as_secs_f64();
    for (name, e) in [
        ("port", port.as_ref().and_then(|r| r.error.as_ref())),
        ("switch", switch.as_ref().and_then(|r| r.error.as_ref())),
    ] {
        if let Some(e) = e {
            eprintln!("soak: {name}: FAIL: {e}");
            ok = false;
        }
    }
    print_table(seed, secs, port.as_ref(), switch.as_ref());
    println!("soak: {}", if ok { "PASS" } else { "FAIL" });
    Ok(ok)
}

/// The counts of both soaks, one row per figure.
fn print_table(
    seed: u64,
    secs: f64,
    port: Option<&Soaked<PortSoakCounts>>,
    switch: Option<&Soaked<SwitchSoakCounts>>,
) {
    let p = port.map(|r| r.counts);
    let w = switch.map(|r| r.counts);
    let total = p.map_or(0, |c| c.cycles) + w.map_or(0, |c| c.cycles);
    println!("soak: seed {seed}, {total} cycles in {secs:.1} s");
    let status = |r: Option<(bool, bool)>| match r {
        None => "-",
        Some((false, _)) => "FAIL",
        Some((true, true)) => "stopped",
        Some((true, false)) => "pass",
    };
    println!("{:<48} {:>12} {:>12}", "", "port", "switch");
    let row = |name: &str, a: Option<u64>, b: Option<u64>| {
        let f = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        println!("{name:<48} {:>12} {:>12}", f(a), f(b));
    };
    row("cycles", p.map(|c| c.cycles), w.map(|c| c.cycles));
    row("scenarios", p.map(|c| c.scenarios), w.map(|c| c.scenarios));
    row("bags checked", p.map(|c| c.bags), w.map(|c| c.bags));
    row(
        "lines out (result / upstream)",
        p.map(|c| c.lines),
        w.map(|c| c.lines),
    );
    row("S2M flits in", p.map(|c| c.flits), w.map(|c| c.flits));
    row("MemRd out", None, w.map(|c| c.mem_reqs));
    row(
        "valid stalls, commands in (cycles added)",
        p.map(|c| c.cmd_valid_stall),
        w.map(|c| c.cmd_valid_stall),
    );
    row(
        "valid stalls, S2M flits in (cycles added)",
        p.map(|c| c.flit_valid_stall),
        w.map(|c| c.flit_valid_stall),
    );
    row(
        "ready stalls, commands in",
        p.map(|c| c.cmd_ready_stall),
        w.map(|c| c.cmd_ready_stall),
    );
    row(
        "ready stalls, S2M flits in",
        p.map(|c| c.flit_ready_stall),
        w.map(|c| c.flit_ready_stall),
    );
    row(
        "ready stalls, results out (switch: egress full)",
        p.map(|c| c.res_ready_stall),
        w.map(|c| c.res_ready_stall),
    );
    row("ready stalls, upstream", None, w.map(|c| c.up_ready_stall));
    row(
        "ready stalls, MemRd out",
        None,
        w.map(|c| c.memrd_ready_stall),
    );
    row("credit-starved cycles", None, w.map(|c| c.credit_starved));
    row(
        "max tags in flight (one port)",
        p.map(|c| c.max_tags_in_flight),
        w.map(|c| c.max_tags_in_flight),
    );
    println!(
        "{:<48} {:>12} {:>12}",
        "status",
        status(port.map(|r| (r.error.is_none(), r.stopped))),
        status(switch.map(|r| (r.error.is_none(), r.stopped)))
    );
}
