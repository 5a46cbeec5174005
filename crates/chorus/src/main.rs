//! The `chorus` binary: `chorus [serve]` runs a node; `chorus token` prints a
//! development token that the same configuration accepts; `chorus contract` writes the
//! generated contract (TypeScript typings, AsyncAPI document).

use clap::{Parser, Subcommand};

use chorus::auth::jwt::issue_token;
use chorus::config::{AuthSettings, Settings, SettingsFlags};
use chorus::{Application, telemetry};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(name = "chorus", version, about = "Self-hosted real-time engagement server (Socket.IO)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: SettingsFlags,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print an HS256 user token accepted by this configuration.
    Token {
        /// User id (`sub`).
        #[arg(long)]
        user: String,
        /// Display name (`name`).
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
    },
    /// Write the generated contract (`index.d.ts`, `asyncapi.json`) into a directory.
    Contract {
        /// Where to write them.
        #[arg(long, default_value = "clients/typescript")]
        out: std::path::PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Contract { out }) = &cli.command {
        // Needs no configuration: the contract is the same for every one.
        return match chorus::transport::contract::write_files(out) {
            Ok(paths) => {
                for path in paths {
                    println!("{}", path.display());
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("chorus: cannot write the contract into {}: {e}", out.display());
                std::process::ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load(&cli.flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chorus: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init_logging(&settings.log.format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Token { user, name, ttl } => print_token(&settings.auth, &user, name.as_deref(), ttl),
        Command::Contract { .. } => Ok(()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chorus: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until(shutdown_signal()).await
    })
}

fn print_token(auth: &AuthSettings, user: &str, name: Option<&str>, ttl: i64) -> anyhow::Result<()> {
    if auth.jwt_public_key.is_some() {
        anyhow::bail!("this configuration verifies RS256/ES256 tokens: mint them with your private key");
    }
    if auth.jwt_jwks_url.is_some() {
        anyhow::bail!("this configuration verifies your identity provider's tokens (jwt_jwks_url): get them from it");
    }
    let secret = match &auth.jwt_secret {
        Some(s) => s.clone(),
        None => chorus::app::dev_secret(auth)?,
    };
    let names = chorus::auth::jwt::ClaimNames { user: auth.jwt_user_claim.clone(), name: auth.jwt_name_claim.clone() };
    println!("{}", issue_token(&secret, user, name, ttl, &names)?);
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
