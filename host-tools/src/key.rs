//! `fc00ctl key …`: generate keys and convert between private key, `.k` public key and fc
//! address, printing what the reference's makekeys / privatetopublic / publictoip6 print.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Subcommand;
use host_tools::error::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use protocol_core::identity::{
    generate_keypair, Ip6, KeyParseError, NodeAddress, PrivateKey, PublicKey,
};
use rand_core::OsRng;
use serde_json::json;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate keypairs whose address is in fc00::/8 (one line each, as cjdns makekeys:
    /// private key, address, public key).
    Gen {
        /// How many keypairs to generate.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        count: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key and address of a private key (as cjdns privatetopublic).
    /// Reads the key from standard input when it is not given, so it stays out of shell
    /// history.
    Pub {
        /// 64 hex digits.
        private_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the fc address of a public key (`….k`) or of a private key (64 hex digits),
    /// in the short form cjdns publictoip6 prints.
    Addr {
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a `.k` key, a node address (`v22.0000.0000.0000.0013.….k`) or an IPv6 address.
    /// Exit code 0: a valid cjdns identity; 1: well formed but not valid; 2: unreadable.
    Check {
        address: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: KeyCommand, out: &mut impl Write) -> Result<ExitCode, CliError> {
    match cmd {
        KeyCommand::Gen { count, json } => generate(count, json, out),
        KeyCommand::Pub { private_key, json } => {
            let text = match private_key {
                Some(text) => text,
                None => read_stdin_line()?,
            };
            let private = parse_private(&text)?;
            let public = private.public_key();
            let ip = public
                .address()
                .map_err(|e| CliError::usage(format!("private key gives no cjdns address: {e}")))?;
            if json {
                print_identity_json(out, &public, &ip)?;
            } else {
                writeln!(out, "Input privkey: {}", private.to_hex_string())
                    .map_err(CliError::io)?;
                writeln!(out, "Matching pubkey: {}", public.to_k_string()).map_err(CliError::io)?;
                writeln!(out, "Resulting address: {}", ip.to_short_string())
                    .map_err(CliError::io)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        KeyCommand::Addr { key, json } => {
            let public = parse_public_or_private(&key)?;
            let ip = public
                .address()
                .map_err(|e| CliError::usage(format!("not a cjdns key: {e}")))?;
            if json {
                print_identity_json(out, &public, &ip)?;
            } else {
                writeln!(out, "{}", ip.to_short_string()).map_err(CliError::io)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        KeyCommand::Check { address, json } => check(address.trim(), json, out),
    }
}

fn generate(count: u32, json: bool, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let mut entries = Vec::new();
    // Each key is a search for an fc address (hundreds of tries): show progress for many.
    let bar = if count > 1 && io::stderr().is_terminal() {
        let bar = ProgressBar::new(u64::from(count));
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} keys {elapsed}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    for _ in 0..count {
        let (private, public, ip) = generate_keypair(&mut OsRng);
        bar.inc(1);
        if json {
            entries.push(json!({
                "privateKey": private.to_hex_string().as_str(),
                "publicKey": public.to_k_string().as_str(),
                "ipv6": ip.to_full_string().as_str(),
            }));
        } else {
            writeln!(
                out,
                "{} {} {}",
                private.to_hex_string(),
                ip.to_full_string(),
                public.to_k_string()
            )
            .map_err(CliError::io)?;
        }
    }
    bar.finish_and_clear();
    if json {
        print_json(out, &serde_json::Value::Array(entries))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `key check` recognised in its argument.
enum Checked {
    Key(PublicKey),
    Node(NodeAddress),
    Ip(Ip6),
}

fn check(text: &str, json: bool, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let checked = if host_tools::admin::cli::is_node_address_text(text) {
        NodeAddress::parse(text)
            .map(Checked::Node)
            .map_err(|e| e.to_string())
    } else if text.ends_with(".k") {
        match PublicKey::parse_k(text) {
            Ok(key) => Ok(Checked::Key(key)),
            // Well formed, but its address is outside fc00::/8: "not valid", not "unreadable".
            Err(KeyParseError::InvalidAddress(bad)) => {
                return report_invalid(out, json, text, &format!("{bad}"));
            }
            Err(e) => Err(e.to_string()),
        }
    } else if text.contains(':') {
        Ip6::parse(text).map(Checked::Ip).map_err(|e| e.to_string())
    } else {
        Err("expected a .k key, a node address (v<ver>.<label>.<key>.k) or an IPv6 address".into())
    };
    let checked = checked.map_err(|e| CliError::usage(format!("{text}: {e}")))?;
    let (kind, ip, key) = match &checked {
        Checked::Key(key) => ("publicKey", key.address_unchecked(), Some(*key)),
        Checked::Node(node) => ("nodeAddress", node.key.address_unchecked(), Some(node.key)),
        Checked::Ip(ip) => ("ipv6", *ip, None),
    };
    if !ip.is_valid() {
        return report_invalid(out, json, text, &format!("{} is not in fc00::/8", ip));
    }
    if json {
        let mut v = json!({
            "valid": true,
            "kind": kind,
            "ipv6": ip.to_full_string().as_str(),
        });
        if let Some(key) = key {
            v["publicKey"] = json!(key.to_k_string().as_str());
        }
        if let Checked::Node(node) = &checked {
            v["version"] = json!(node.version);
            v["path"] = json!(protocol_core::identity::label_to_string(node.label).as_str());
        }
        print_json(out, &v)?;
    } else {
        match &checked {
            Checked::Node(node) => writeln!(
                out,
                "valid node address: version {}, path {}, address {}",
                node.version,
                protocol_core::identity::label_to_string(node.label),
                ip.to_full_string()
            ),
            Checked::Key(_) => writeln!(out, "valid public key: address {}", ip.to_full_string()),
            Checked::Ip(_) => writeln!(out, "valid cjdns address {}", ip.to_full_string()),
        }
        .map_err(CliError::io)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report_invalid(
    out: &mut impl Write,
    json: bool,
    text: &str,
    why: &str,
) -> Result<ExitCode, CliError> {
    if json {
        print_json(
            out,
            &json!({ "valid": false, "input": text, "reason": why }),
        )?;
    } else {
        writeln!(out, "not valid: {why}").map_err(CliError::io)?;
    }
    Ok(ExitCode::from(1))
}

fn parse_private(text: &str) -> Result<PrivateKey, CliError> {
    PrivateKey::parse_hex(text.trim())
        .map_err(|e| CliError::usage(format!("private key must be 64 hex digits: {e}")))
}

fn parse_public_or_private(text: &str) -> Result<PublicKey, CliError> {
    let text = text.trim();
    if text.ends_with(".k") {
        PublicKey::parse_k(text).map_err(|e| CliError::usage(format!("{text}: {e}")))
    } else {
        Ok(parse_private(text)?.public_key())
    }
}

fn read_stdin_line() -> Result<String, CliError> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read the key from standard input: {e}")))?;
    if line.trim().is_empty() {
        return Err(CliError::usage(
            "no private key given: pass it as an argument or on standard input",
        ));
    }
    Ok(line)
}

fn print_identity_json(out: &mut impl Write, public: &PublicKey, ip: &Ip6) -> Result<(), CliError> {
    print_json(
        out,
        &json!({
            "publicKey": public.to_k_string().as_str(),
            "ipv6": ip.to_full_string().as_str(),
        }),
    )
}

fn print_json(out: &mut impl Write, value: &serde_json::Value) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| CliError::io(io::Error::other(e)))?;
    writeln!(out).map_err(CliError::io)
}
