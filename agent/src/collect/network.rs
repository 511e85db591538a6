//! Network interface counters from `/proc/net/dev` (loopback excluded).

use super::num;
use crate::series::Sample;

/// Counters of one interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetStat {
    /// Interface name.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_drops: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on transmit.
    pub tx_drops: u64,
}

/// Parses a `/proc/net/dev` text (two header lines, then `name: 16 numbers`).
pub fn parse_net_dev(text: &str) -> Vec<NetStat> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() < 16 {
                return None;
            }
            let n = |i: usize| num(f.get(i).copied());
            Some(NetStat {
                name: name.trim().to_string(),
                rx_bytes: n(0),
                rx_packets: n(1),
                rx_errors: n(2),
                rx_drops: n(3),
                tx_bytes: n(8),
                tx_packets: n(9),
                tx_errors: n(10),
                tx_drops: n(11),
            })
        })
        .collect()
}

/// Counter samples of every interface but `lo`.
pub fn collect(stats: &[NetStat], out: &mut Vec<Sample>) {
    for i in stats.iter().filter(|i| i.name != "lo") {
        let s =
            |metric, v: u64| Sample::counter(metric, v as f64).label("interface", i.name.clone());
        out.push(s("node_network_receive_bytes_total", i.rx_bytes));
        out.push(s("node_network_transmit_bytes_total", i.tx_bytes));
        out.push(s("node_network_receive_packets_total", i.rx_packets));
        out.push(s("node_network_transmit_packets_total", i.tx_packets));
        out.push(s("node_network_receive_errors_total", i.rx_errors));
        out.push(s("node_network_transmit_errors_total", i.tx_errors));
        out.push(s("node_network_receive_drops_total", i.rx_drops));
        out.push(s("node_network_transmit_drops_total", i.tx_drops));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 186714906    6325    1    2    0     0          0         0   440881    3949    3    4    0     0       0          0
";

    #[test]
    fn net_dev_is_parsed_and_lo_skipped() {
        let stats = parse_net_dev(NET_DEV);
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats[1],
            NetStat {
                name: "eth0".into(),
                rx_bytes: 186_714_906,
                rx_packets: 6325,
                rx_errors: 1,
                rx_drops: 2,
                tx_bytes: 440_881,
                tx_packets: 3949,
                tx_errors: 3,
                tx_drops: 4
            }
        );
        let mut out = vec![];
        collect(&stats, &mut out);
        assert_eq!(out.len(), 8);
        assert!(
            out.iter()
                .all(|s| s.labels == vec![("interface", "eth0".to_string())])
        );
        assert_eq!(
            out.iter()
                .find(|s| s.metric == "node_network_transmit_drops_total")
                .map(|s| s.value),
            Some(4.0)
        );
    }
}
