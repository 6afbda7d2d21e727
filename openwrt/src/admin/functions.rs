//! The admin functions fc00d offers: names, argument specs and who may call them,
//! as the reference registers them (`Admin_registerFunction`).

use super::benc::{BDict, Benc};

/// Argument types the reference knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    String,
    Int,
    Dict,
    List,
}

impl ArgType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ArgType::String => "String",
            ArgType::Int => "Int",
            ArgType::Dict => "Dict",
            ArgType::List => "List",
        }
    }

    /// Whether `value` is of this type.
    pub fn matches(&self, value: &Benc) -> bool {
        matches!(
            (self, value),
            (ArgType::String, Benc::Bytes(_))
                | (ArgType::Int, Benc::Int(_))
                | (ArgType::Dict, Benc::Dict(_))
                | (ArgType::List, Benc::List(_))
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgType,
    pub required: bool,
}

/// Which handler a function name selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    AvailableFunctions,
    Interfaces,
    PeerStats,
    DisconnectPeer,
    SwitchPing,
    UdpBeginConnection,
    PasswordsAdd,
    PasswordsRemove,
    PasswordsList,
    Ping,
    GetHandles,
    SessionStats,
    SessionStatsByIp,
    CoreExit,
    CorePid,
    NodeInfo,
    DumpTable,
    RouterPingNode,
    UdpNew,
    EthBeacon,
    EthListDevices,
    NodeForAddr,
}

#[derive(Clone, Copy, Debug)]
pub struct FunctionSpec {
    pub name: &'static str,
    pub func: Func,
    pub needs_auth: bool,
    pub args: &'static [ArgSpec],
}

const fn arg(name: &'static str, kind: ArgType, required: bool) -> ArgSpec {
    ArgSpec {
        name,
        kind,
        required,
    }
}

const PAGE: &[ArgSpec] = &[arg("page", ArgType::Int, false)];

/// In the reference's registration order (which `Admin_availableFunctions` pages
/// through): the admin core, then `Core_init`'s modules, then the pathfinder's, which
/// register once it starts.
pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "Admin_availableFunctions",
        func: Func::AvailableFunctions,
        needs_auth: false,
        args: PAGE,
    },
    FunctionSpec {
        name: "InterfaceController_interfaces",
        func: Func::Interfaces,
        needs_auth: true,
        args: PAGE,
    },
    FunctionSpec {
        name: "InterfaceController_peerStats",
        func: Func::PeerStats,
        needs_auth: false,
        args: PAGE,
    },
    FunctionSpec {
        name: "InterfaceController_disconnectPeer",
        func: Func::DisconnectPeer,
        needs_auth: true,
        args: &[arg("pubkey", ArgType::String, true)],
    },
    FunctionSpec {
        name: "SwitchPinger_ping",
        func: Func::SwitchPing,
        needs_auth: true,
        args: &[
            arg("path", ArgType::String, true),
            arg("timeout", ArgType::Int, false),
            arg("data", ArgType::String, false),
            arg("keyPing", ArgType::Int, false),
            arg("lladdr", ArgType::Int, false),
            arg("snode", ArgType::Int, false),
            arg("rpath", ArgType::Int, false),
        ],
    },
    FunctionSpec {
        name: "UDPInterface_new",
        func: Func::UdpNew,
        needs_auth: true,
        args: &[
            arg("bindAddress", ArgType::String, false),
            arg("dscp", ArgType::Int, false),
            arg("beaconPort", ArgType::Int, false),
        ],
    },
    FunctionSpec {
        name: "UDPInterface_beginConnection",
        func: Func::UdpBeginConnection,
        needs_auth: true,
        args: &[
            arg("interfaceNumber", ArgType::Int, false),
            arg("password", ArgType::String, false),
            arg("publicKey", ArgType::String, true),
            arg("address", ArgType::String, true),
            arg("login", ArgType::String, false),
            arg("peerName", ArgType::String, false),
            arg("version", ArgType::Int, false),
        ],
    },
    FunctionSpec {
        name: "ETHInterface_beacon",
        func: Func::EthBeacon,
        needs_auth: true,
        args: &[
            arg("interfaceNumber", ArgType::Int, false),
            arg("state", ArgType::Int, false),
        ],
    },
    FunctionSpec {
        name: "ETHInterface_listDevices",
        func: Func::EthListDevices,
        needs_auth: true,
        args: &[],
    },
    FunctionSpec {
        name: "AuthorizedPasswords_add",
        func: Func::PasswordsAdd,
        needs_auth: true,
        args: &[
            arg("password", ArgType::String, true),
            arg("ipv6", ArgType::String, false),
            arg("user", ArgType::String, false),
        ],
    },
    FunctionSpec {
        name: "AuthorizedPasswords_remove",
        func: Func::PasswordsRemove,
        needs_auth: true,
        args: &[arg("user", ArgType::String, true)],
    },
    FunctionSpec {
        name: "AuthorizedPasswords_list",
        func: Func::PasswordsList,
        needs_auth: true,
        args: PAGE,
    },
    FunctionSpec {
        name: "ping",
        func: Func::Ping,
        needs_auth: false,
        args: &[],
    },
    FunctionSpec {
        name: "SessionManager_getHandles",
        func: Func::GetHandles,
        needs_auth: true,
        args: PAGE,
    },
    FunctionSpec {
        name: "SessionManager_sessionStats",
        func: Func::SessionStats,
        needs_auth: true,
        args: &[arg("handle", ArgType::Int, true)],
    },
    FunctionSpec {
        name: "SessionManager_sessionStatsByIP",
        func: Func::SessionStatsByIp,
        needs_auth: true,
        args: &[arg("ip6", ArgType::String, true)],
    },
    FunctionSpec {
        name: "Core_exit",
        func: Func::CoreExit,
        needs_auth: true,
        args: &[],
    },
    FunctionSpec {
        name: "Core_pid",
        func: Func::CorePid,
        needs_auth: false,
        args: &[],
    },
    FunctionSpec {
        name: "Core_nodeInfo",
        func: Func::NodeInfo,
        needs_auth: false,
        args: &[],
    },
    FunctionSpec {
        name: "NodeStore_dumpTable",
        func: Func::DumpTable,
        needs_auth: false,
        args: &[arg("page", ArgType::Int, true)],
    },
    FunctionSpec {
        name: "NodeStore_nodeForAddr",
        func: Func::NodeForAddr,
        needs_auth: false,
        args: &[arg("ip", ArgType::String, false)],
    },
    FunctionSpec {
        name: "RouterModule_pingNode",
        func: Func::RouterPingNode,
        needs_auth: true,
        args: &[
            arg("path", ArgType::String, true),
            arg("timeout", ArgType::Int, false),
        ],
    },
];

impl FunctionSpec {
    /// `{argName: {required: 0|1, type: "..."}}` as `Admin_availableFunctions` lists it.
    pub fn args_dict(&self) -> BDict {
        let mut d = BDict::new();
        for a in self.args {
            d.put(
                a.name,
                BDict::new()
                    .with("required", i64::from(a.required))
                    .with("type", a.kind.as_str()),
            );
        }
        d
    }

    /// `checkArgs`: the first required argument (in key order, as the reference's
    /// sorted dict walks them) that is missing or of the wrong type.
    pub fn check_args(
        &self,
        args: Option<&std::collections::BTreeMap<Vec<u8>, Benc>>,
    ) -> Result<(), String> {
        let mut required: Vec<&ArgSpec> = self.args.iter().filter(|a| a.required).collect();
        required.sort_by_key(|a| a.name.as_bytes());
        for a in required {
            let ok = args
                .and_then(|m| m.get(a.name.as_bytes()))
                .is_some_and(|v| a.kind.matches(v));
            if !ok {
                return Err(format!(
                    "Entry [{}] is required and must be of type [{}]",
                    a.name,
                    a.kind.as_str()
                ));
            }
        }
        Ok(())
    }
}

/// The function `name` selects, if any.
pub fn lookup(name: &[u8]) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|f| f.name.as_bytes() == name)
}
