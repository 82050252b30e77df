//! brink's sandbox and container configs as CRI requests, the way the
//! kubelet builds them: DNS from the policy and the node's resolvers, port
//! mappings, CPU shares and quota, memory limit, security contexts. Pure
//! functions; the calls that send them are in `calls`.

use std::collections::HashMap;
use std::path::Path;

use k8s_cri::v1 as cri;

use super::{CriOptions, labels, pod_labels};
use crate::config::{
    ContainerConfig, DnsPolicy, PodDns, PodSandboxConfig, PodSecurity, Protocol, SecurityContext,
};

/// CFS period the kubelet uses (100 ms, in µs).
const CPU_PERIOD: i64 = 100_000;
/// The smallest quota the kernel accepts (1 ms, in µs).
const MIN_CPU_QUOTA: i64 = 1_000;
/// Shares of a container that requests no CPU (the kubelet's `MinShares`).
const MIN_CPU_SHARES: i64 = 2;
/// glibc reads at most this many nameservers.
const MAX_NAMESERVERS: usize = 3;

/// Resolvers as a `resolv.conf` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Resolvers {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// The `nameserver`, `search` (and `domain`) and `options` lines of a `resolv.conf`.
pub(super) fn parse_resolv_conf(text: &str) -> Resolvers {
    let mut r = Resolvers::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => r.servers.extend(words.next().map(str::to_owned)),
            // the last search or domain line wins, as in the resolver
            Some("search" | "domain") => r.searches = words.map(str::to_owned).collect(),
            Some("options") => r.options.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    r
}

fn push_unique(list: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

/// The pod's resolvers: what its policy gives (the cluster DNS, the node's
/// `node` resolvers, or nothing), with its own `dnsConfig` merged in.
pub(super) fn dns_config(
    dns: &PodDns,
    namespace: &str,
    node: &Resolvers,
    options: &CriOptions,
) -> cri::DnsConfig {
    let mut out = match dns.policy {
        DnsPolicy::None => Resolvers::default(),
        DnsPolicy::ClusterFirst | DnsPolicy::ClusterFirstWithHostNet
            if !options.cluster_dns.is_empty() =>
        {
            let domain = &options.cluster_domain;
            let mut searches = vec![
                format!("{namespace}.svc.{domain}"),
                format!("svc.{domain}"),
                domain.clone(),
            ];
            push_unique(&mut searches, &node.searches);
            Resolvers {
                servers: options.cluster_dns.clone(),
                searches,
                options: vec!["ndots:5".to_owned()],
            }
        }
        // no cluster DNS yet: the node's own, as the kubelet falls back
        _ => node.clone(),
    };
    push_unique(&mut out.servers, &dns.nameservers);
    out.servers.truncate(MAX_NAMESERVERS);
    push_unique(&mut out.searches, &dns.searches);
    // an option the pod sets replaces the policy's of the same name
    for opt in &dns.options {
        let name = opt.split(':').next().unwrap_or(opt);
        out.options
            .retain(|o| o.split(':').next().unwrap_or(o) != name);
        out.options.push(opt.clone());
    }
    cri::DnsConfig {
        servers: out.servers,
        searches: out.searches,
        options: out.options,
    }
}

fn namespace_options(pod: &PodSecurity) -> cri::NamespaceOption {
    cri::NamespaceOption {
        network: cri::NamespaceMode::Pod as i32,
        pid: (if pod.share_process_namespace {
            cri::NamespaceMode::Pod
        } else {
            cri::NamespaceMode::Container
        }) as i32,
        ipc: cri::NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// `RunPodSandbox`'s config.
pub(super) fn sandbox_config(
    cfg: &PodSandboxConfig,
    node_dns: &Resolvers,
    options: &CriOptions,
) -> cri::PodSandboxConfig {
    let mut sandbox_labels: HashMap<String, String> = cfg.labels.clone().into_iter().collect();
    sandbox_labels.extend(pod_labels(&cfg.namespace, &cfg.name, &cfg.uid));
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: cfg.name.clone(),
            uid: cfg.uid.clone(),
            namespace: cfg.namespace.clone(),
            attempt: cfg.attempt,
        }),
        hostname: cfg.hostname.clone(),
        log_directory: cfg
            .log_directory
            .as_deref()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        dns_config: Some(dns_config(&cfg.dns, &cfg.namespace, node_dns, options)),
        port_mappings: cfg
            .port_mappings
            .iter()
            .map(|p| cri::PortMapping {
                protocol: (match p.protocol {
                    Protocol::Tcp => cri::Protocol::Tcp,
                    Protocol::Udp => cri::Protocol::Udp,
                    Protocol::Sctp => cri::Protocol::Sctp,
                }) as i32,
                container_port: i32::from(p.container_port),
                host_port: p.host_port.map_or(0, i32::from),
                host_ip: p.host_ip.clone(),
            })
            .collect(),
        labels: sandbox_labels,
        annotations: cfg.annotations.clone().into_iter().collect(),
        linux: Some(cri::LinuxPodSandboxConfig {
            cgroup_parent: options
                .cgroup_parent
                .as_deref()
                .map(|p| format!("{}/pod{}", p.trim_end_matches('/'), cfg.uid))
                .unwrap_or_default(),
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(&cfg.security)),
                run_as_user: cfg
                    .security
                    .run_as_user
                    .map(|value| cri::Int64Value { value }),
                run_as_group: cfg
                    .security
                    .run_as_group
                    .map(|value| cri::Int64Value { value }),
                supplemental_groups: cfg.security.supplemental_groups.clone(),
                // only ever asked for when the node allows it (`calls`)
                privileged: cfg.security.privileged && options.allow_privileged,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// CPU and memory as the kubelet turns requests and limits into cgroup settings.
pub(super) fn resources(cfg: &ContainerConfig) -> cri::LinuxContainerResources {
    let millis = |m: u64| i64::try_from(m).unwrap_or(i64::MAX);
    // a limit without a request requests the limit (API defaulting does
    // that for pods; configs built by hand may lack it)
    let request = cfg.cpu_request_millis.or(cfg.cpu_limit_millis);
    let (cpu_period, cpu_quota) = match cfg.cpu_limit_millis {
        Some(limit) => (
            CPU_PERIOD,
            (millis(limit).saturating_mul(CPU_PERIOD) / 1000).max(MIN_CPU_QUOTA),
        ),
        None => (0, 0),
    };
    cri::LinuxContainerResources {
        cpu_period,
        cpu_quota,
        cpu_shares: request.map_or(MIN_CPU_SHARES, |m| {
            (millis(m).saturating_mul(1024) / 1000).max(MIN_CPU_SHARES)
        }),
        memory_limit_in_bytes: cfg
            .memory_limit
            .map_or(0, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        ..Default::default()
    }
}

/// The container's security context, the pod's user and group filling in.
pub(super) fn security_context(
    ctx: &SecurityContext,
    pod: &PodSecurity,
) -> cri::LinuxContainerSecurityContext {
    let ctx = ctx.with_pod(pod);
    let capabilities = (!ctx.capabilities_add.is_empty() || !ctx.capabilities_drop.is_empty())
        .then(|| cri::Capability {
            add_capabilities: ctx.capabilities_add.clone(),
            drop_capabilities: ctx.capabilities_drop.clone(),
            ..Default::default()
        });
    cri::LinuxContainerSecurityContext {
        capabilities,
        privileged: ctx.privileged,
        namespace_options: Some(namespace_options(pod)),
        run_as_user: ctx.run_as_user.map(|value| cri::Int64Value { value }),
        run_as_group: ctx.run_as_group.map(|value| cri::Int64Value { value }),
        readonly_rootfs: ctx.read_only_root_filesystem,
        supplemental_groups: pod.supplemental_groups.clone(),
        no_new_privs: ctx.allow_privilege_escalation == Some(false),
        ..Default::default()
    }
}

/// `CreateContainer`'s config. `termination_log` is the host file mounted at
/// the container's `terminationMessagePath`, if there is one.
pub(super) fn container_config(
    cfg: &ContainerConfig,
    sandbox: &PodSandboxConfig,
    sandbox_id: &str,
    termination_log: Option<&Path>,
) -> cri::ContainerConfig {
    let mut container_labels = pod_labels(&sandbox.namespace, &sandbox.name, &sandbox.uid);
    container_labels.insert(labels::CONTAINER_NAME.to_owned(), cfg.name.clone());
    container_labels.insert(labels::SANDBOX_ID.to_owned(), sandbox_id.to_owned());
    let mut annotations = HashMap::from([(labels::IMAGE.to_owned(), cfg.image.clone())]);
    let mut mounts: Vec<cri::Mount> = cfg
        .mounts
        .iter()
        .map(|m| cri::Mount {
            container_path: m.container_path.clone(),
            host_path: m.host_path.display().to_string(),
            readonly: m.read_only,
            ..Default::default()
        })
        .collect();
    if let (Some(host), Some(path)) = (termination_log, &cfg.termination_message_path) {
        annotations.insert(
            labels::TERMINATION_LOG.to_owned(),
            host.display().to_string(),
        );
        mounts.push(cri::Mount {
            container_path: path.clone(),
            host_path: host.display().to_string(),
            ..Default::default()
        });
    }
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata {
            name: cfg.name.clone(),
            attempt: cfg.attempt,
        }),
        image: Some(cri::ImageSpec {
            image: cfg.image.clone(),
            ..Default::default()
        }),
        command: cfg.command.clone(),
        args: cfg.args.clone(),
        working_dir: cfg.working_dir.clone().unwrap_or_default(),
        envs: cfg
            .env
            .iter()
            .map(|(key, value)| cri::KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        mounts,
        labels: container_labels,
        annotations,
        // relative to the sandbox's log_directory, as CRI wants it
        log_path: cfg
            .log_path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        stdin: cfg.stdin,
        stdin_once: cfg.stdin_once,
        tty: cfg.tty,
        linux: Some(cri::LinuxContainerConfig {
            resources: Some(resources(cfg)),
            security_context: Some(security_context(&cfg.security, &sandbox.security)),
        }),
        ..Default::default()
    }
}
