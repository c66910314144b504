//! `takedown demo`: prepare a demo directory and serve it, printing how to get in.

use std::net::SocketAddr;
use std::path::Path;

use tracing::error;

use crate::cli::exit;
use crate::demo;
use crate::demo::services::SimulatedServices;

/// Prepares `dir` and serves on `listen` until SIGTERM or Ctrl-C.
pub(super) fn run(dir: &Path, listen: SocketAddr) -> u8 {
    // Bound before the config is written: with port 0 the config (the wiki OAuth redirect, the
    // listen address) names the port actually served, so the meta wiki sends the browser back
    // to this daemon and not to port 0.
    let bound = match std::net::TcpListener::bind(listen).and_then(|l| Ok((l.local_addr()?, l))) {
        Ok((address, listener)) => (address, listener),
        Err(err) => {
            error!("cannot listen on {listen}: {err}");
            return exit::RUNTIME;
        }
    };
    let (listen, listener) = bound;
    // Started first: the config names their ports. They stop when this function returns.
    let services = match SimulatedServices::start(dir) {
        Ok(services) => services,
        Err(err) => {
            error!("{err}");
            return exit::RUNTIME;
        }
    };
    let sections = format!(
        "{}\n{}",
        services.egress_section("takedown-demo@example.org"),
        services.service_sections(&format!("https://{listen}"))
    );
    let workspace = match demo::prepare(dir, listen, &sections) {
        Ok(workspace) => workspace,
        Err(err) => {
            error!("cannot prepare the demo directory {}: {err}", dir.display());
            return exit::RUNTIME;
        }
    };
    let config = match super::load_config(&workspace.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match super::open_store(&config).map(|store| demo::seed_sample_cases(&store)) {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            error!("cannot add the sample cases: {err}");
            return exit::RUNTIME;
        }
        Err(code) => return code,
    }
    let staff_dir = workspace.staff_dir.display().to_string();
    let password = workspace.p12_password.clone();
    let created = workspace.created;
    let ports = takedown_peers::PeerService::ALL
        .iter()
        .map(|s| format!("{} {}", s.name(), services.peers.address(*s).port()))
        .collect::<Vec<_>>()
        .join(", ");
    super::serve::run_on(config, Some(listener), move |address| {
        println!("ready https://{address}/");
        println!();
        println!(
            "{} demo PKI in {}.",
            if created { "Created a" } else { "Reusing the" },
            Path::new(&staff_dir)
                .parent()
                .and_then(Path::parent)
                .map_or(String::new(), |p| p.display().to_string())
        );
        println!("To open it in a browser, import a staff certificate and trust the demo CA:");
        println!("  certificates: {staff_dir}/<login>.p12   password: {}", password.as_str());
        println!("  logins: dmca-agent, cp-agent, approver, auditor, exporter (one role each),");
        println!(
            "          cp-lead (child-protection and approver: approves others' reports, never their own),"
        );
        println!("          outsider (valid but not on the roster), revoked (on the roster, revoked)");
        println!("  Firefox: Settings > Privacy & Security > Certificates > View Certificates >");
        println!("           Your Certificates > Import; then Authorities > Import pki/ca.crt");
        println!("  Chromium: Settings > Privacy and security > Security > Manage certificates >");
        println!("           Import (or: pk12util -d sql:$HOME/.pki/nssdb -i <login>.p12)");
        println!(
            "  curl: curl --cacert pki/ca.crt --cert pki/staff/dmca-agent.crt --key pki/staff/dmca-agent.key https://{address}/"
        );
        println!("Cases: https://{address}/cases (two made-up samples). The exporter's download opens with");
        println!("  age -d -i keys/legal-counsel-identity FILE.age | tar x");
        println!("Simulated services (made-up data; each request is journalled in peers/<service>.jsonl):");
        println!("  Lumen, NCMEC, Salesforce and MediaWiki on 127.0.0.1 ports {ports};");
        println!("  the home page shows their state. Their made-up host names (*.test) resolve only inside");
        println!("  the appliance: to try \"Connect your wiki account\" in a browser, map meta.wiki.test to");
        println!("  127.0.0.1 in /etc/hosts and trust peers/ca.crt as well. Their faults are switched over");
        println!(
            "  HTTP (POST /_peers/fault, /_peers/groups on a service's port: see tests/peers/src/control.rs)."
        );
        println!("Stop with Ctrl-C.");
    })
}
