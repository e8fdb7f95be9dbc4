//! Counting outcomes per operation and errno, and reporting violations.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::expect::Op;
use crate::sys::{Errno, SysResult};

/// Outcomes of one operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Successful calls.
    pub ok: u64,
    /// Failed calls per errno.
    pub errs: BTreeMap<Errno, u64>,
}

impl Counts {
    /// Counts one outcome.
    pub fn record<T>(&mut self, r: &SysResult<T>) {
        match r {
            Ok(_) => self.ok += 1,
            Err(e) => *self.errs.entry(*e).or_default() += 1,
        }
    }

    /// All calls counted.
    pub fn total(&self) -> u64 {
        self.ok + self.errs.values().sum::<u64>()
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Counts) {
        self.ok += other.ok;
        for (e, n) in &other.errs {
            *self.errs.entry(*e).or_default() += n;
        }
    }

    /// `12345 ok, ENOENT 321, ENAMETOOLONG 40`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("{} ok", self.ok)];
        parts.extend(self.errs.iter().map(|(e, n)| format!("{e} {n}")));
        parts.join(", ")
    }
}

/// Outcomes of every operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    counts: Vec<Counts>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            counts: vec![Counts::default(); Op::ALL.len()],
        }
    }
}

impl Stats {
    /// Counts one outcome of `op`.
    pub fn record<T>(&mut self, op: Op, r: &SysResult<T>) {
        self.counts[op.index()].record(r);
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Stats) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            a.merge(b);
        }
    }

    /// All calls counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(Counts::total).sum()
    }

    /// The counts of `op`.
    #[cfg(test)]
    pub fn of(&self, op: Op) -> &Counts {
        &self.counts[op.index()]
    }

    /// One line per operation that ran: `op stat: 12345 ok, ENOENT 321`.
    pub fn lines(&self) -> Vec<String> {
        Op::ALL
            .iter()
            .zip(&self.counts)
            .filter(|(_, c)| c.total() > 0)
            .map(|(op, c)| format!("op {}: {}", op.name(), c.describe()))
            .collect()
    }
}

/// Violations are printed as they happen (up to this many) and always counted.
const MAX_PRINTED: u64 = 500;

/// Collects invariant violations from all threads.
#[derive(Debug, Default)]
pub struct Reporter {
    count: AtomicU64,
    /// Serialises printing, so that lines of different threads do not mix.
    lock: Mutex<()>,
}

impl Reporter {
    /// Reports a violation by `who` (a thread) during `op`.
    pub fn violation(&self, who: &str, op: &str, details: impl Display) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= MAX_PRINTED {
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            println!("VIOLATION [{who}] op {op}: {details}");
            if n == MAX_PRINTED {
                println!("(further violations are counted, not printed)");
            }
        }
    }

    /// Prints an informational line without mixing it into another thread's.
    pub fn note(&self, text: impl Display) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        println!("{text}");
    }

    /// The number of violations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting() {
        let mut s = Stats::default();
        s.record::<()>(Op::Stat, &Ok(()));
        s.record::<()>(Op::Stat, &Ok(()));
        s.record::<()>(Op::Stat, &Err(Errno(libc::ENAMETOOLONG)));
        s.record::<()>(Op::Stat, &Err(Errno(libc::ENOENT)));
        s.record::<()>(Op::Remove, &Err(Errno(libc::EBUSY)));
        assert_eq!(s.total(), 5);
        assert_eq!(
            s.lines(),
            [
                "op remove: 0 ok, EBUSY 1",
                "op stat: 2 ok, ENOENT 1, ENAMETOOLONG 1"
            ]
        );
        let mut t = Stats::default();
        t.merge(&s);
        t.merge(&s);
        assert_eq!(t.total(), 10);
        assert_eq!(t.of(Op::Stat).ok, 4);
        assert_eq!(t.of(Op::Stat).errs[&Errno(libc::ENOENT)], 2);
    }

    #[test]
    fn reporting() {
        let r = Reporter::default();
        assert_eq!(r.count(), 0);
        r.violation(
            "thread 0",
            "stat",
            "test violation (expected in unit tests)",
        );
        assert_eq!(r.count(), 1);
    }
}
