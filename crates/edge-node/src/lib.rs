//! brink's edge agent: joins the cluster, registers and reports its Node,
//! keeps the pods bound to it running through link outages (offline first:
//! desired state and unsent status live in a local redb), and speaks the node
//! link to the hub.

pub mod agent;
pub mod join;
pub mod local;
pub mod logs;
pub mod node_status;
pub mod pods;
pub mod relay;
pub mod sim;
