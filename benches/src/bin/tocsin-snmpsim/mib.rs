//! The MIB view of one simulated switch: a [`Shape`] (every OID a device of
//! K interfaces serves, sorted, shared by all devices of that shape) and the
//! values of one [`Device`], computed on request so counters advance with time.

use std::time::Instant;

use async_snmp::{Oid, Value};

/// What one OID of the shape holds; the value is computed per device and request.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    /// SNMPv2-MIB system group scalar, by column (1 sysDescr … 7 sysServices).
    System(u32),
    /// IF-MIB ifNumber.0.
    IfNumber,
    /// ifTable column `col` of interface `idx`.
    If { col: u32, idx: u32 },
    /// ifXTable column `col` of interface `idx`.
    IfX { col: u32, idx: u32 },
    /// HOST-RESOURCES hrSystemUptime.0.
    HrUptime,
    /// hrStorageTable column `col` of row `row` (1 RAM, 2 virtual memory, 3 flash).
    HrStorage { col: u32, row: u32 },
    /// hrProcessorTable column `col` of processor `row` (0 or 1).
    HrProcessor { col: u32, row: u32 },
    /// entPhysicalTable column `col` of entity `row` (1 chassis, 2 power supply).
    Entity { col: u32, row: u32 },
    /// lldpLocPortTable column `col` of local port `port`.
    LldpLocal { col: u32, port: u32 },
    /// lldpRemTable column `col` of the neighbour on local port `port`.
    LldpRemote { col: u32, port: u32 },
}

/// Interfaces that have an LLDP neighbour (ports 1..=N).
pub const LLDP_NEIGHBOURS: u32 = 4;
/// hrProcessorTable indexes (hrDeviceIndex of each CPU).
const PROCESSOR_INDEX: [u32; 2] = [196_608, 196_609];
/// ifTable columns served (ifIndex … ifSpecific).
const IF_COLUMNS: std::ops::RangeInclusive<u32> = 1..=22;
/// ifXTable columns served (ifName … ifCounterDiscontinuityTime).
const IFX_COLUMNS: std::ops::RangeInclusive<u32> = 1..=19;

/// Every OID served by a device with a given interface count, in
/// lexicographic order, with what each one holds.
pub struct Shape {
    oids: Vec<Oid>,
    cells: Vec<Cell>,
}

fn o(prefix: &[u32], rest: &[u32]) -> Oid {
    Oid::new(prefix.iter().chain(rest).copied())
}

impl Shape {
    /// The OID table of a switch with `interfaces` interfaces.
    pub fn new(interfaces: u32) -> Self {
        const SYSTEM: &[u32] = &[1, 3, 6, 1, 2, 1, 1];
        const IF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1];
        const IFX_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1];
        const HR_STORAGE: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 2, 3, 1];
        const HR_PROCESSOR: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 3, 1];
        const ENTITY: &[u32] = &[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1];
        const LLDP_LOCAL: &[u32] = &[1, 0, 8802, 1, 1, 2, 1, 3, 7, 1];
        const LLDP_REMOTE: &[u32] = &[1, 0, 8802, 1, 1, 2, 1, 4, 1, 1];

        let mut entries: Vec<(Oid, Cell)> = Vec::new();
        for col in 1..=7 {
            entries.push((o(SYSTEM, &[col, 0]), Cell::System(col)));
        }
        entries.push((o(&[1, 3, 6, 1, 2, 1, 2, 1, 0], &[]), Cell::IfNumber));
        for col in IF_COLUMNS {
            for idx in 1..=interfaces {
                entries.push((o(IF_ENTRY, &[col, idx]), Cell::If { col, idx }));
            }
        }
        for col in IFX_COLUMNS {
            for idx in 1..=interfaces {
                entries.push((o(IFX_ENTRY, &[col, idx]), Cell::IfX { col, idx }));
            }
        }
        entries.push((o(&[1, 3, 6, 1, 2, 1, 25, 1, 1, 0], &[]), Cell::HrUptime));
        for col in 1..=7 {
            for row in 1..=3 {
                entries.push((o(HR_STORAGE, &[col, row]), Cell::HrStorage { col, row }));
            }
        }
        for col in 1..=2 {
            for (row, index) in (0u32..).zip(PROCESSOR_INDEX) {
                entries.push((
                    o(HR_PROCESSOR, &[col, index]),
                    Cell::HrProcessor { col, row },
                ));
            }
        }
        for col in 2..=13 {
            for row in 1..=2 {
                entries.push((o(ENTITY, &[col, row]), Cell::Entity { col, row }));
            }
        }
        for col in 2..=4 {
            for port in 1..=interfaces {
                entries.push((o(LLDP_LOCAL, &[col, port]), Cell::LldpLocal { col, port }));
            }
        }
        for col in 4..=12 {
            for port in 1..=interfaces.min(LLDP_NEIGHBOURS) {
                // Index: lldpRemTimeMark, lldpRemLocalPortNum, lldpRemIndex.
                entries.push((
                    o(LLDP_REMOTE, &[col, 0, port, 1]),
                    Cell::LldpRemote { col, port },
                ));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let (oids, cells) = entries.into_iter().unzip();
        Self { oids, cells }
    }

    /// Number of OIDs served.
    pub fn len(&self) -> usize {
        self.oids.len()
    }

    /// The cell at exactly `oid`.
    pub fn get(&self, oid: &Oid) -> Option<Cell> {
        self.oids.binary_search(oid).ok().map(|i| self.cells[i])
    }

    /// The first OID strictly after `oid`, and its cell.
    pub fn next(&self, oid: &Oid) -> Option<(&Oid, Cell)> {
        let i = self.oids.partition_point(|x| x <= oid);
        self.oids.get(i).map(|x| (x, self.cells[i]))
    }
}

/// One simulated device: its number and when it (notionally) booted.
pub struct Device {
    /// Device number, 0-based: its port is base + index and its name `sim-sw-<index>`.
    pub index: u32,
    /// Interface count (for ifNumber).
    pub interfaces: u32,
    /// When the simulator started; counters grow from it.
    pub started: Instant,
    /// Seconds the device had been up when the simulator started.
    pub uptime_offset: f64,
}

/// A deterministic 64-bit mix of a few numbers (splitmix64 finaliser).
fn mix(parts: &[u64]) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for p in parts {
        x ^= p.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    x
}

fn text(s: impl Into<String>) -> Value {
    Value::OctetString(s.into().into_bytes().into())
}

const CISCO_MODELS: [(u32, &str); 4] = [
    (1208, "WS-C2960X-48TS-L"),
    (2066, "C9300-48P"),
    (1745, "WS-C3850-48T"),
    (2494, "C9200L-48T-4G"),
];

impl Device {
    /// Seconds the device has been up now.
    fn uptime(&self) -> f64 {
        self.uptime_offset + self.started.elapsed().as_secs_f64()
    }

    fn ticks(&self) -> Value {
        Value::TimeTicks((self.uptime() * 100.0) as u64 as u32)
    }

    fn model(&self) -> (u32, &'static str) {
        CISCO_MODELS[self.index as usize % CISCO_MODELS.len()]
    }

    fn oper_up(&self, idx: u32) -> bool {
        !mix(&[u64::from(self.index), u64::from(idx), 1]).is_multiple_of(4)
    }

    fn if_name(idx: u32) -> String {
        format!("Gi1/0/{idx}")
    }

    /// A counter of interface `idx` for `kind` (0 octets in, 1 octets out, …):
    /// a per-interface rate (0 when down) times the uptime.
    fn counter(&self, idx: u32, kind: u64) -> u64 {
        if !self.oper_up(idx) {
            return 0;
        }
        let h = mix(&[u64::from(self.index), u64::from(idx), kind]);
        // Octets up to ~30 MB/s, packets ~1/700 of octets, multicast/broadcast
        // a few per second, errors and discards rare.
        let rate = match kind {
            0 | 1 => (h % 30_000_000) as f64,
            2 | 3 => (h % 30_000_000) as f64 / 700.0,
            4..=7 => (h % 50) as f64,
            _ => (h % 1000) as f64 / 10_000.0,
        };
        (rate * self.uptime()) as u64
    }

    /// The value of `cell` now.
    pub fn value(&self, cell: Cell) -> Value {
        match cell {
            Cell::System(col) => self.system(col),
            Cell::IfNumber => Value::Integer(self.interfaces as i32),
            Cell::If { col, idx } => self.if_entry(col, idx),
            Cell::IfX { col, idx } => self.ifx_entry(col, idx),
            Cell::HrUptime => self.ticks(),
            Cell::HrStorage { col, row } => self.storage(col, row),
            Cell::HrProcessor { col, row } => match col {
                1 => Value::ObjectIdentifier(Oid::from_slice(&[0, 0])),
                _ => {
                    let minute = self.started.elapsed().as_secs() / 60;
                    let h = mix(&[u64::from(self.index), u64::from(row), minute]);
                    Value::Integer((5 + h % 60) as i32)
                }
            },
            Cell::Entity { col, row } => self.entity(col, row),
            Cell::LldpLocal { col, port } => match col {
                2 => Value::Integer(5), // interfaceName
                3 => text(Self::if_name(port)),
                _ => text(format!("GigabitEthernet1/0/{port}")),
            },
            Cell::LldpRemote { col, port } => self.lldp_remote(col, port),
        }
    }

    fn system(&self, col: u32) -> Value {
        let (oid_arc, model) = self.model();
        match col {
            1 => text(format!(
                "Cisco IOS Software, {model} (simulated by tocsin-snmpsim), Version 15.2(7)E8"
            )),
            2 => Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 4, 1, 9, 1, oid_arc])),
            3 => self.ticks(),
            4 => text("noc@example.net"),
            5 => text(format!("sim-sw-{}", self.index)),
            6 => text(format!("lab rack {}", self.index / 40 + 1)),
            _ => Value::Integer(6),
        }
    }

    fn if_entry(&self, col: u32, idx: u32) -> Value {
        let up = self.oper_up(idx);
        let c32 = |kind| Value::Counter32(self.counter(idx, kind) as u32);
        match col {
            1 => Value::Integer(idx as i32),
            2 => text(format!("GigabitEthernet1/0/{idx}")),
            3 => Value::Integer(6), // ethernetCsmacd
            4 => Value::Integer(1500),
            5 => Value::Gauge32(1_000_000_000),
            6 => Value::OctetString(
                vec![
                    0x00,
                    0x1a,
                    0x2b,
                    (self.index >> 8) as u8,
                    self.index as u8,
                    idx as u8,
                ]
                .into(),
            ),
            7 => Value::Integer(1),
            8 => Value::Integer(if up { 1 } else { 2 }),
            9 => Value::TimeTicks(0),
            10 => c32(0),
            11 => c32(2),
            12 => Value::Counter32((self.counter(idx, 4) + self.counter(idx, 6)) as u32),
            13 => c32(8),
            14 => c32(9),
            15 => Value::Counter32(0),
            16 => c32(1),
            17 => c32(3),
            18 => Value::Counter32((self.counter(idx, 5) + self.counter(idx, 7)) as u32),
            19 => c32(10),
            20 => c32(11),
            21 => Value::Gauge32(0),
            _ => Value::ObjectIdentifier(Oid::from_slice(&[0, 0])),
        }
    }

    fn ifx_entry(&self, col: u32, idx: u32) -> Value {
        let c64 = |kind| Value::Counter64(self.counter(idx, kind));
        match col {
            1 => text(Self::if_name(idx)),
            2 => Value::Counter32(self.counter(idx, 4) as u32),
            3 => Value::Counter32(self.counter(idx, 6) as u32),
            4 => Value::Counter32(self.counter(idx, 5) as u32),
            5 => Value::Counter32(self.counter(idx, 7) as u32),
            6 => c64(0),
            7 => c64(2),
            8 => c64(4),
            9 => c64(6),
            10 => c64(1),
            11 => c64(3),
            12 => c64(5),
            13 => c64(7),
            14 => Value::Integer(1),
            15 => Value::Gauge32(1000),
            16 => Value::Integer(2),
            17 => Value::Integer(1),
            18 => text(if idx % 12 == 1 {
                format!("uplink {idx}")
            } else if idx.is_multiple_of(3) {
                String::new()
            } else {
                format!("desk {}-{idx}", self.index)
            }),
            _ => Value::TimeTicks(0),
        }
    }

    fn storage(&self, col: u32, row: u32) -> Value {
        // (type arc under hrStorageTypes, descr, allocation unit, size in units)
        let (kind, descr, unit, size): (u32, &str, i32, i32) = match row {
            1 => (2, "Physical memory", 1024, 4_194_304),
            2 => (3, "Virtual memory", 1024, 4_194_304),
            _ => (9, "flash:", 4096, 2_000_000),
        };
        let used_pct = 20 + mix(&[u64::from(self.index), u64::from(row)]) % 60;
        match col {
            1 => Value::Integer(row as i32),
            2 => Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 2, 1, 25, 2, 1, kind])),
            3 => text(descr),
            4 => Value::Integer(unit),
            5 => Value::Integer(size),
            6 => Value::Integer((i64::from(size) * used_pct as i64 / 100) as i32),
            _ => Value::Counter32(0),
        }
    }

    fn entity(&self, col: u32, row: u32) -> Value {
        let (_, model) = self.model();
        let chassis = row == 1;
        match col {
            2 => text(if chassis {
                format!("Cisco {model} chassis")
            } else {
                "Power supply 1".to_owned()
            }),
            3 => Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 4, 1, 9, 12, 3, 1, 3, 1])),
            4 => Value::Integer(if chassis { 0 } else { 1 }),
            5 => Value::Integer(if chassis { 3 } else { 6 }),
            6 => Value::Integer(if chassis { -1 } else { 1 }),
            7 => text(if chassis { "Switch 1" } else { "PS-1" }),
            8 => text("V03"),
            9 => text(if chassis { "15.2(7r)E" } else { "" }),
            10 => text(if chassis { "15.2(7)E8" } else { "" }),
            11 => text(format!(
                "FOC{:08}{}",
                self.index,
                if chassis { 'A' } else { 'P' }
            )),
            12 => text("Cisco Systems, Inc."),
            _ => text(if chassis { model } else { "PWR-C1-350WAC" }),
        }
    }

    fn lldp_remote(&self, col: u32, port: u32) -> Value {
        let peer = self.index + port;
        match col {
            4 => Value::Integer(4), // macAddress
            5 => {
                Value::OctetString(vec![0x00, 0x1a, 0x2b, (peer >> 8) as u8, peer as u8, 0].into())
            }
            6 => Value::Integer(5), // interfaceName
            7 => text(format!("Gi1/0/{}", 48 + port)),
            8 => text(format!("GigabitEthernet1/0/{}", 48 + port)),
            9 => text(format!("sim-sw-{peer}")),
            10 => text("Cisco IOS Software (simulated)"),
            // lldpRemSysCapSupported / Enabled: bridge and router bits.
            _ => Value::OctetString(vec![0x28, 0x00].into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_sorted_and_walkable() {
        let s = Shape::new(48);
        assert!(s.oids.windows(2).all(|w| w[0] < w[1]));
        let first = s.next(&Oid::from_slice(&[1])).expect("first").0.clone();
        assert_eq!(first.arcs()[..3], [1, 0, 8802]);
        let if_descr_1 = Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 1]);
        assert!(matches!(
            s.get(&if_descr_1),
            Some(Cell::If { col: 2, idx: 1 })
        ));
        let last_descr = Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 48]);
        let (next, _) = s.next(&last_descr).expect("next");
        assert_eq!(next.arcs(), [1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 1]);
    }
}
