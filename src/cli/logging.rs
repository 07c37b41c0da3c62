//! Where log events go. The server logs as a server does (a timestamp,
//! level and module on every line, or JSON), since its log is read later.
//! The other commands are read as they run, beside their results: only
//! warnings and errors by default, as plain `warning: …` lines, and more with
//! `-v` / `-vv`. `CAREPLAN_LOG` (an `EnvFilter`) overrides either.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

pub fn init(verbosity: u8, server: bool) {
    let chosen = EnvFilter::try_from_env("CAREPLAN_LOG").ok();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr);
    if server {
        let filter = chosen.unwrap_or_else(|| EnvFilter::new("warn,careplan::server=info"));
        let builder = builder.with_env_filter(filter);
        let _ = if std::env::var("CAREPLAN_LOG_FORMAT").is_ok_and(|f| f == "json") {
            builder.json().try_init()
        } else {
            builder.with_ansi(ansi).try_init()
        };
        return;
    }
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = chosen.unwrap_or_else(|| EnvFilter::new(level));
    let _ = if verbosity >= 2 {
        // Debugging: where each event comes from helps.
        builder.with_env_filter(filter).without_time().with_ansi(ansi).try_init()
    } else {
        builder.with_env_filter(filter).event_format(Plain).try_init()
    };
}

/// `warning: message`, as compilers and the validator's own text output write.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "note",
            _ => "debug",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
