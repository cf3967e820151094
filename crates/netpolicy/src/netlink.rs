//! A small synchronous rtnetlink client: the messages are built and parsed by the
//! `netlink-packet-route` crate, the socket is `netlink-sys`'s; this module only sends requests
//! (several in one datagram when they go together), waits for their acknowledgements and reads
//! link dumps.
//!
//! A netlink socket belongs to the network namespace it was created in, whichever thread uses it
//! later: [`Netlink::open`] on a thread that has just entered a new namespace gives a handle on
//! that namespace.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// The index the kernel gives `lo` in every network namespace.
pub(crate) const LOOPBACK_INDEX: u32 = 1;

/// An rtnetlink socket in one network namespace.
#[derive(Debug)]
pub(crate) struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

fn proto(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("netlink: {e}"))
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        // Extended acks carry the kernel's message for a refused request.
        let _ = socket.set_ext_ack(true);
        Ok(Netlink {
            socket,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    fn frame(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> NetlinkMessage<RouteNetlinkMessage> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        m.finalize();
        m
    }

    /// Sends `msgs` in one datagram, each with `NLM_F_ACK`, and waits for every
    /// acknowledgement. The first refusal is returned (with the step's name); the kernel stops
    /// at nothing, so later requests of the batch may have been applied.
    pub(crate) fn batch(&mut self, msgs: Vec<(&str, RouteNetlinkMessage, u16)>) -> io::Result<()> {
        match self.batch_errno(msgs)? {
            None => Ok(()),
            Some((what, errno)) => {
                let io = io::Error::from_raw_os_error(errno);
                Err(io::Error::new(io.kind(), format!("{what}: {io}")))
            }
        }
    }

    /// [`Netlink::batch`], the first refusal as (step, errno).
    fn batch_errno(
        &mut self,
        msgs: Vec<(&str, RouteNetlinkMessage, u16)>,
    ) -> io::Result<Option<(String, i32)>> {
        let mut out = Vec::new();
        let mut pending: Vec<(u32, String)> = Vec::with_capacity(msgs.len());
        for (what, msg, flags) in msgs {
            let m = self.frame(msg, NLM_F_REQUEST | NLM_F_ACK | flags);
            let start = out.len();
            out.resize(start + m.buffer_len(), 0);
            m.serialize(&mut out[start..]);
            pending.push((m.header.sequence_number, what.to_string()));
        }
        self.socket.send(&out, 0)?;
        let mut first_err: Option<(String, i32)> = None;
        while !pending.is_empty() {
            let n = self.socket.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(proto)?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                let seq = msg.header.sequence_number;
                if let NetlinkPayload::Error(e) = msg.payload {
                    if let Some(i) = pending.iter().position(|(s, _)| *s == seq) {
                        let (_, what) = pending.remove(i);
                        if e.code.is_some() && first_err.is_none() {
                            first_err = Some((what, e.raw_code().abs()));
                        }
                    }
                }
            }
        }
        Ok(first_err)
    }

    /// One request, acknowledged.
    pub(crate) fn request(
        &mut self,
        what: &str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<()> {
        self.batch(vec![(what, msg, flags)])
    }

    /// Sends a dump request and collects the inner messages of the answer.
    fn dump(
        &mut self,
        what: &str,
        msg: RouteNetlinkMessage,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let m = self.frame(msg, NLM_F_REQUEST | NLM_F_DUMP);
        let seq = m.header.sequence_number;
        let mut out = vec![0; m.buffer_len()];
        m.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut items = Vec::new();
        loop {
            let n = self.socket.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[off..n])
                    .map_err(proto)?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(items),
                    NetlinkPayload::Error(e) if e.code.is_some() => {
                        let io = e.to_io();
                        return Err(io::Error::new(io.kind(), format!("{what}: {io}")));
                    }
                    NetlinkPayload::InnerMessage(m) => items.push(m),
                    _ => {}
                }
            }
        }
    }

    /// Every link of the namespace: (index, name).
    pub(crate) fn links(&mut self) -> io::Result<Vec<(u32, String)>> {
        let items = self.dump(
            "listing links",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?;
        Ok(items
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => l
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        LinkAttribute::IfName(n) => Some(n.clone()),
                        _ => None,
                    })
                    .map(|name| (l.header.index, name)),
                _ => None,
            })
            .collect())
    }

    /// Every address of the namespace (both families).
    pub(crate) fn addresses(&mut self) -> io::Result<Vec<IpAddr>> {
        let items = self.dump(
            "listing addresses",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        )?;
        let mut out = Vec::new();
        for m in items {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                let local = a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                });
                let addr = a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                });
                if let Some(ip) = local.or(addr) {
                    out.push(ip);
                }
            }
        }
        Ok(out)
    }

    /// The index of the link named `name`, if it exists.
    pub(crate) fn link_index(&mut self, name: &str) -> io::Result<Option<u32>> {
        Ok(self
            .links()?
            .into_iter()
            .find_map(|(i, n)| (n == name).then_some(i)))
    }

    /// Deletes the link (a veth takes its peer along; a bridge releases its ports). A link
    /// already gone (a veth deleted with its namespace meanwhile) is no error.
    pub(crate) fn delete_link(&mut self, index: u32) -> io::Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        match self.batch_errno(vec![(
            "deleting a link",
            RouteNetlinkMessage::DelLink(m),
            0,
        )])? {
            None => Ok(()),
            Some((_, errno)) if errno == libc::ENODEV => Ok(()),
            Some((what, errno)) => {
                let io = io::Error::from_raw_os_error(errno);
                Err(io::Error::new(io.kind(), format!("{what}: {io}")))
            }
        }
    }
}

/// `RTM_NEWLINK` of a bridge named `name` with MAC `mac`, up.
pub(crate) fn new_bridge(name: &str, mac: [u8; 6]) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes = vec![
        LinkAttribute::IfName(name.to_string()),
        LinkAttribute::Address(mac.to_vec()),
        LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
    ];
    RouteNetlinkMessage::NewLink(m)
}

/// Flags for a message that creates something that must not exist yet.
pub(crate) const CREATE: u16 = NLM_F_CREATE | NLM_F_EXCL;

/// `RTM_NEWLINK` of a veth pair: `host_name` in the socket's namespace, a port of `master`,
/// up; its peer `peer_name` (index `peer_index`, MAC `peer_mac`) created directly in the
/// namespace `peer_ns`, down (a veth cannot be opened before its pair is complete: bring it up
/// from inside).
pub(crate) fn new_veth(
    host_name: &str,
    master: u32,
    peer_name: &str,
    peer_index: u32,
    peer_mac: [u8; 6],
    peer_ns: BorrowedFd<'_>,
) -> RouteNetlinkMessage {
    let mut peer = LinkMessage::default();
    peer.header.index = peer_index;
    peer.attributes = vec![
        LinkAttribute::IfName(peer_name.to_string()),
        LinkAttribute::Address(peer_mac.to_vec()),
        LinkAttribute::NetNsFd(peer_ns.as_raw_fd()),
    ];
    let mut m = LinkMessage::default();
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes = vec![
        LinkAttribute::IfName(host_name.to_string()),
        LinkAttribute::Controller(master),
        LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]),
    ];
    RouteNetlinkMessage::NewLink(m)
}

/// `RTM_NEWLINK` (set) bringing link `index` up.
pub(crate) fn link_up(index: u32) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    RouteNetlinkMessage::SetLink(m)
}

/// `RTM_NEWADDR`: `addr/prefix` on link `index`, without duplicate address detection (IPv6).
pub(crate) fn new_address(index: u32, addr: IpAddr, prefix: u8) -> RouteNetlinkMessage {
    let mut m = AddressMessage::default();
    m.header.index = index;
    m.header.prefix_len = prefix;
    m.header.family = match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.attributes = vec![
        AddressAttribute::Local(addr),
        AddressAttribute::Address(addr),
    ];
    if addr.is_ipv6() {
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    RouteNetlinkMessage::NewAddress(m)
}

/// `RTM_NEWROUTE`: the default route of the main table via `gateway` on link `index`.
pub(crate) fn default_route(index: u32, gateway: IpAddr) -> RouteNetlinkMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match gateway {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.table = netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Static;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes = vec![
        RouteAttribute::Gateway(match gateway {
            IpAddr::V4(a) => RouteAddress::Inet(a),
            IpAddr::V6(a) => RouteAddress::Inet6(a),
        }),
        RouteAttribute::Oif(index),
    ];
    RouteNetlinkMessage::NewRoute(m)
}
