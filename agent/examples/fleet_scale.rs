//! Scale check: N sim nodes (default 1000, 12-50 containers each) at 1 Hz in one process.
//! Prints the process CPU time per second of wall time and the Watch traffic of one node.
//!
//! `cargo run --release -p fleetdeck-agent --example fleet_scale -- 1000 20 [all]`
//! With `all`, every node also has a Watch client in this process (as with a console).

use std::time::{Duration, Instant};

use fleetdeck_agent::{AgentConfig, bind_fleet, raise_fd_limit, spawn_fleet};
use fleetdeck_proto::agent_client::AgentClient;
use fleetdeck_proto::{WatchRequest, watch_event::Body};
use prost::Message;

/// Process CPU time (user + system), from /proc (Linux), in seconds.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line; clock ticks are 100 Hz on Linux.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let secs: u64 = args.next().map_or(Ok(20), |a| a.parse())?;
    let watch_all = args.next().as_deref() == Some("all");
    raise_fd_limit(nodes)?;
    let dir = tempfile::tempdir()?;
    let template = AgentConfig {
        containers: 0,
        state_dir: Some(dir.path().to_owned()),
        ..AgentConfig::sim("scale", 1)
    };
    let t0 = Instant::now();
    let listeners = bind_fleet("127.0.0.1:0".parse()?, nodes).await?;
    let agents = spawn_fleet(&template, listeners).await?;
    let containers: usize = agents.iter().map(|a| a.snapshot().containers.len()).sum();
    println!(
        "started {nodes} nodes, {containers} containers in {:?}",
        t0.elapsed()
    );

    let last = agents.last().ok_or("no nodes")?;
    let mut client = AgentClient::connect(format!("http://{}", last.addr())).await?;
    let mut stream = client
        .watch(WatchRequest {
            client_name: "scale".into(),
        })
        .await?
        .into_inner();
    let watched = last.snapshot().containers.len();
    if watch_all {
        for a in &agents[..agents.len() - 1] {
            let mut c = AgentClient::connect(format!("http://{}", a.addr())).await?;
            let mut s = c
                .watch(WatchRequest {
                    client_name: "scale".into(),
                })
                .await?
                .into_inner();
            tokio::spawn(async move { while let Ok(Some(_)) = s.message().await {} });
        }
        println!("watching all {nodes} nodes");
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, wall0) = (cpu_secs(), Instant::now());
    let (mut bytes, mut deltas) = (0_usize, 0_usize);
    let seq0 = last.seq();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.message()).await {
        if matches!(ev.body, Some(Body::Delta(_))) {
            deltas += 1;
            bytes += ev.encoded_len() + 14;
        }
    }
    let wall = wall0.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (cpu0, cpu_secs()) {
        println!(
            "cpu: {:.1} % of one core over {wall:.1} s ({nodes} nodes at 1 Hz)",
            (b - a) / wall * 100.0
        );
    }
    println!(
        "watched node ({watched} containers): {deltas} deltas, {:.0} B/s; seq moved {}",
        bytes as f64 / wall,
        last.seq() - seq0
    );
    let t1 = Instant::now();
    futures::future::join_all(agents.into_iter().map(|a| a.shutdown())).await;
    println!("shut down in {:?}", t1.elapsed());
    Ok(())
}
