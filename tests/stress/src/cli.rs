//! Command-line parsing (by hand: the tool has no dependency beyond `libc`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The usage text (`--help`).
pub const USAGE: &str = "\
usage: eventfs-stress [OPTIONS]
       eventfs-stress mountapi DIR
       eventfs-stress pipe DIR
       eventfs-stress inject MNT
       eventfs-stress bench [OPTIONS] eventfs|tracefs|pair|records N  (`bench --help`)
       eventfs-stress bench [OPTIONS] probes K

Stress test of a mounted eventfs; exits 0 if every invariant held, 1 if one was
violated, 2 on a usage error.

mountapi DIR: checks mount options through fsopen/fsconfig/fsmount/move_mount/
fspick/open_tree, mounting eventfs on DIR (and unmounting it at the end); needs
that no eventfs is mounted. Exits 0 if every check passed, 1 if one failed.

pipe DIR: checks trace_pipe of the tracing directory DIR (the mount or an
instance): O_NONBLOCK, poll, blocking and small reads, concurrent readers.

inject MNT: checks events/GROUP/EVENT/inject and event filters on the eventfs
mounted at MNT (concurrent injects and trace_pipe readers at the top level and
in an instance, the enable/tracing_on gate, errnos, filters); creates the
events inj/ev, inj/sev and the instance instances/inj, and removes them.

  --mount DIR       the eventfs mount (default /mnt/events)
  --threads N       worker threads, 1..=64 (default 4)
  --duration SECS   how long the workers run (default 10)
  --seed U64        seed of the run (decimal or 0x hex; default: from the clock).
                    The same seed and thread count replay each thread's choices.
  --no-remount      never remount with new uid=/gid=
  --no-drop-caches  never write 2 to /proc/sys/vm/drop_caches
  --faults          fault-injection mode (failslab + /proc/thread-self/fail-nth)
                    instead of the stress run
  --scratch DIR     directory for the fault mode's extra mount
                    (default /tmp/eventfs-stress-mnt)
  --max-nth N       fault mode: the highest allocation to fail per kind (default 200)
  --probe-funcs F,..  the functions kprobe events go on, among vfs_read, vfs_write,
                    kernel_clone and do_sys_openat2 (default: all of them)
  -h, --help        this text
";

/// The functions the stress run puts kprobe events on (each has a workload that calls
/// it a known number of times).
pub const PROBE_FUNCS: [&str; 4] = ["vfs_read", "vfs_write", "kernel_clone", "do_sys_openat2"];

/// What a run does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The eventfs mount point.
    pub mount: String,
    /// Number of worker threads.
    pub threads: usize,
    /// How long the workers run.
    pub duration: Duration,
    /// The seed of the run.
    pub seed: u64,
    /// Whether workers may remount.
    pub remount: bool,
    /// Whether workers may drop caches.
    pub drop_caches: bool,
    /// Fault-injection mode instead of the stress run.
    pub faults: bool,
    /// Scratch mount point of the fault mode.
    pub scratch: String,
    /// Fault mode: highest `n` written to `fail-nth` per kind.
    pub max_nth: u32,
    /// The functions kprobe events may go on (`None`: every one the tool knows).
    pub probe_funcs: Option<Vec<String>>,
}

/// The result of parsing the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Config),
    /// The `mountapi DIR` subcommand.
    MountApi(String),
    /// Print the usage text and exit successfully.
    Help,
}

/// The most worker threads (the own groups are `t0`..`t63`).
pub const MAX_THREADS: usize = 64;

/// A seed from the clock and the process id, for runs without `--seed`.
pub fn default_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    crate::rng::mix64(nanos ^ u64::from(std::process::id()).rotate_left(32))
}

/// Parses an unsigned number, decimal or `0x` hexadecimal.
fn parse_u64(opt: &str, s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse::<u64>(),
    };
    r.map_err(|_| format!("{opt}: '{s}' is not an unsigned number"))
}

/// Parses the arguments (without the program name). `default_seed` is used when no
/// `--seed` is given.
pub fn parse(args: &[String], default_seed: u64) -> Result<Parsed, String> {
    if args.first().map(String::as_str) == Some("mountapi") {
        return match &args[1..] {
            [h] if h == "-h" || h == "--help" => Ok(Parsed::Help),
            [dir] if !dir.is_empty() && !dir.starts_with('-') => Ok(Parsed::MountApi(dir.clone())),
            _ => Err("mountapi takes one argument: the directory to mount on".to_string()),
        };
    }
    let mut cfg = Config {
        mount: "/mnt/events".to_string(),
        threads: 4,
        duration: Duration::from_secs(10),
        seed: default_seed,
        remount: true,
        drop_caches: true,
        faults: false,
        scratch: "/tmp/eventfs-stress-mnt".to_string(),
        max_nth: 200,
        probe_funcs: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        // `--opt=value` or `--opt value`.
        let (opt, inline) = match arg.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let value = |it: &mut std::slice::Iter<'_, String>| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{opt} needs a value")),
            }
        };
        match opt {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--mount" => {
                cfg.mount = value(&mut it)?;
                if cfg.mount.is_empty() {
                    return Err("--mount: empty path".to_string());
                }
            }
            "--threads" => {
                let n = parse_u64(opt, &value(&mut it)?)?;
                if n == 0 || n > MAX_THREADS as u64 {
                    return Err(format!("--threads: {n} is not in 1..={MAX_THREADS}"));
                }
                cfg.threads = n as usize;
            }
            "--duration" => {
                let secs = parse_u64(opt, &value(&mut it)?)?;
                if secs > 7 * 24 * 3600 {
                    return Err(format!("--duration: {secs} s is more than a week"));
                }
                cfg.duration = Duration::from_secs(secs);
            }
            "--seed" => cfg.seed = parse_u64(opt, &value(&mut it)?)?,
            "--scratch" => {
                cfg.scratch = value(&mut it)?;
                if cfg.scratch.is_empty() {
                    return Err("--scratch: empty path".to_string());
                }
            }
            "--max-nth" => {
                let n = parse_u64(opt, &value(&mut it)?)?;
                if n == 0 || n > 100_000 {
                    return Err(format!("--max-nth: {n} is not in 1..=100000"));
                }
                cfg.max_nth = n as u32;
            }
            "--probe-funcs" => {
                let list: Vec<String> = value(&mut it)?.split(',').map(String::from).collect();
                if let Some(f) = list.iter().find(|f| !PROBE_FUNCS.contains(&f.as_str())) {
                    return Err(format!(
                        "--probe-funcs: '{f}' is not one of {PROBE_FUNCS:?}"
                    ));
                }
                cfg.probe_funcs = Some(list);
            }
            "--no-remount" | "--no-drop-caches" | "--faults" => {
                if inline.is_some() {
                    return Err(format!("{opt} takes no value"));
                }
                match opt {
                    "--no-remount" => cfg.remount = false,
                    "--no-drop-caches" => cfg.drop_caches = false,
                    _ => cfg.faults = true,
                }
            }
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    // A trailing slash would double up in the paths the tool builds.
    while cfg.mount.len() > 1 && cfg.mount.ends_with('/') {
        cfg.mount.pop();
    }
    Ok(Parsed::Run(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run(s: &str) -> Config {
        match parse(&args(s), 99) {
            Ok(Parsed::Run(c)) => c,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = run("");
        assert_eq!(c.mount, "/mnt/events");
        assert_eq!(c.threads, 4);
        assert_eq!(c.duration, Duration::from_secs(10));
        assert_eq!(c.seed, 99);
        assert!(c.remount && c.drop_caches && !c.faults);
        assert_eq!(c.max_nth, 200);
    }

    #[test]
    fn every_option() {
        let c = run(
            "--mount /x/ --threads 8 --duration 3 --seed 0x10 --no-remount --no-drop-caches \
             --faults --scratch /s --max-nth 50",
        );
        assert_eq!(c.mount, "/x");
        assert_eq!(c.threads, 8);
        assert_eq!(c.duration, Duration::from_secs(3));
        assert_eq!(c.seed, 16);
        assert!(!c.remount && !c.drop_caches && c.faults);
        assert_eq!(c.scratch, "/s");
        assert_eq!(c.max_nth, 50);
        assert_eq!(c.probe_funcs, None);
        let c = run("--probe-funcs kernel_clone,vfs_write");
        assert_eq!(
            c.probe_funcs,
            Some(vec!["kernel_clone".to_string(), "vfs_write".to_string()])
        );
        assert!(parse(&args("--probe-funcs kernel_clone,schedule"), 0)
            .is_err_and(|e| e.contains("'schedule'")));
        let c = run("--seed=18446744073709551615 --threads=1 --mount=/");
        assert_eq!(c.seed, u64::MAX);
        assert_eq!(c.threads, 1);
        assert_eq!(c.mount, "/");
    }

    #[test]
    fn help() {
        assert_eq!(parse(&args("--threads 2 -h"), 0), Ok(Parsed::Help));
        assert_eq!(parse(&args("--help"), 0), Ok(Parsed::Help));
        assert!(USAGE.contains("--no-drop-caches"));
    }

    #[test]
    fn errors() {
        for bad in [
            "--threads",
            "--threads 0",
            "--threads 65",
            "--threads x",
            "--threads -1",
            "--duration 1.5",
            "--duration 999999999",
            "--seed",
            "--seed 18446744073709551616",
            "--seed 0xg",
            "--mount",
            "--mount=",
            "--max-nth 0",
            "--faults=1",
            "--bogus",
            "extra",
        ] {
            assert!(parse(&args(bad), 0).is_err(), "{bad}");
        }
        assert_eq!(
            parse(&args("--threads 0"), 0),
            Err("--threads: 0 is not in 1..=64".to_string())
        );
    }

    #[test]
    fn mountapi() {
        assert_eq!(
            parse(&args("mountapi /tmp/m"), 0),
            Ok(Parsed::MountApi("/tmp/m".to_string()))
        );
        assert_eq!(parse(&args("mountapi --help"), 0), Ok(Parsed::Help));
        for bad in [
            "mountapi",
            "mountapi a b",
            "mountapi --mount",
            "--threads 2 mountapi /m",
        ] {
            assert!(parse(&args(bad), 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn clock_seeds_differ() {
        let a = default_seed();
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(a, default_seed());
    }
}
