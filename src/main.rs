//! The `snnsim` command line: parses arguments and dispatches to `snnsim::app`. Exit codes:
//! 0 success, 1 the run failed, 2 bad input.

use clap::{Parser, Subcommand};
use snnsim::app::{self, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "snnsim", version, about = "Spiking neural network simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a graph file; exit 0 if valid, 2 with FILE:LINE:COL and the field if not.
    Validate {
        /// The graph file (RON).
        file: PathBuf,
    },
    /// Build and simulate a graph file, writing a run directory.
    Run {
        /// The graph file (RON).
        file: PathBuf,
        /// Root seed (overrides the file's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: all cores); results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run directory (default runs/<file-stem>-<timestamp>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Simulated time in ms (overrides the file's `duration_ms`).
        #[arg(long = "duration-ms")]
        duration_ms: Option<f64>,
        /// Print summary.json as the last line of standard output.
        #[arg(long)]
        json: bool,
    },
    /// Describe the network a graph file builds: populations, projections, memory.
    Inspect {
        /// The graph file (RON).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { file } => app::validate(&file).map(|c| {
            println!(
                "{}: valid ({} populations, {} projections)",
                file.display(),
                c.file.populations.len(),
                c.file.projections.len()
            );
        }),
        Command::Inspect { file } => app::validate(&file).map(|c| print!("{}", app::inspect(&c))),
        Command::Run {
            file,
            seed,
            threads,
            out,
            duration_ms,
            json,
        } => {
            let opts = RunOptions {
                file,
                seed,
                threads,
                out,
                duration_ms,
            };
            app::run(&opts).map(|s| {
                if json {
                    println!("{}", serde_json::to_string(&s).expect("summary serialises"));
                } else {
                    println!(
                        "{}: {} steps ({} ms) in {:.3} s (build {:.3} s), {} synaptic events",
                        s.file,
                        s.steps,
                        s.sim_time_ms,
                        s.sim_wall_s,
                        s.build_wall_s,
                        s.synaptic_events
                    );
                    for (name, p) in &s.populations {
                        println!(
                            "  {name:<16} size {:>8}  spikes {:>10}  {:.2} Hz",
                            p.size, p.spikes, p.mean_rate_hz
                        );
                    }
                    println!("state_hash {}  run directory {}", s.state_hash, s.run_dir);
                }
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
