//! Progress of a long `careplan validate` on stderr: a bar on a terminal; a
//! line every few seconds otherwise (a CI log would stay silent until the end
//! of a large folder, and cannot show a bar). The interval is
//! `CAREPLAN_PROGRESS_SECONDS` (default 5; 0 for no lines).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

pub enum Progress {
    Off,
    Bar(indicatif::ProgressBar),
    Lines { counts: Arc<Counts>, stop: mpsc::Sender<()>, printer: std::thread::JoinHandle<()> },
}

#[derive(Default)]
pub struct Counts {
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    /// Progress over `total` inputs; nothing for a single input.
    pub fn start(total: usize) -> Progress {
        if total < 2 {
            return Progress::Off;
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} validated ({per_sec}, {eta} left)") {
                bar.set_style(style);
            }
            return Progress::Bar(bar);
        }
        let Some(interval) = interval() else { return Progress::Off };
        let counts = Arc::new(Counts::default());
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = counts.clone();
        let printer = std::thread::spawn(move || {
            let started = Instant::now();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let done = shared.done.load(Ordering::Relaxed);
                let failed = shared.failed.load(Ordering::Relaxed);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "validated {done} of {} ({rate:.0}/s), {failed} with errors so far",
                    crate::outcome::counted(total, "file", "files"),
                );
            }
        });
        Progress::Lines { counts, stop, printer }
    }

    /// One input validated (from any thread).
    pub fn done(&self, has_errors: bool) {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => bar.inc(1),
            Progress::Lines { counts, .. } => {
                counts.done.fetch_add(1, Ordering::Relaxed);
                if has_errors {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Clears the bar or stops the lines, before the results are written.
    pub fn finish(self) {
        match self {
            Progress::Off => {}
            Progress::Bar(bar) => bar.finish_and_clear(),
            Progress::Lines { stop, printer, .. } => {
                let _ = stop.send(());
                let _ = printer.join();
            }
        }
    }
}

fn interval() -> Option<Duration> {
    let Ok(v) = std::env::var("CAREPLAN_PROGRESS_SECONDS") else { return Some(DEFAULT_INTERVAL) };
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!("CAREPLAN_PROGRESS_SECONDS={v} is not a number of seconds; using {}", DEFAULT_INTERVAL.as_secs());
            Some(DEFAULT_INTERVAL)
        }
    }
}
