//! [`plan()`]: one sync of the job controller, as data.

use std::time::Duration;

use k8s_openapi::api::batch::v1::{JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;

use super::conditions::{self as cond, ensure};
use super::indexes::{Indexes, completion_index};
use super::manage::{Manage, delete_event};
use super::tracking::{Ending, flush_counted, has_finalizer, is_pod_failed, record};
use super::{JobEvent, JobPlan, JobSnapshot, MAX_POD_CHANGES_PER_PLAN, PodRef, backoff};
use crate::pods::{is_active, is_ready, is_terminal, phase};

/// How the Job ends: the interim condition and the final one.
struct Finish {
    ending: Ending,
    reason: &'static str,
    message: &'static str,
}

impl Finish {
    fn failure(reason: &'static str, message: &'static str) -> Finish {
        Finish {
            ending: Ending::Failure,
            reason,
            message,
        }
    }

    fn success() -> Finish {
        Finish {
            ending: Ending::Success,
            reason: cond::COMPLETIONS_REACHED,
            message: cond::COMPLETIONS_REACHED_MSG,
        }
    }
}

/// Decides one sync of the Job: see the [module docs](super).
pub fn plan(snapshot: &JobSnapshot) -> JobPlan {
    let job = snapshot.job;
    let now = snapshot.now;
    let pods = &snapshot.pods;
    let mut out = JobPlan::default();
    let old = job.status.clone().unwrap_or_default();

    // A finished Job only releases pods it still holds.
    if cond::finished(&old).is_some() {
        out.remove_finalizer = pods
            .iter()
            .filter(|p| has_finalizer(p))
            .map(|p| PodRef::of(p))
            .collect();
        return out;
    }

    let default_spec = JobSpec::default();
    let spec = job.spec.as_ref().unwrap_or(&default_spec);
    let indexed = spec.completion_mode.as_deref() == Some("Indexed");
    let completions = spec.completions;
    let indexed_completions = completions.filter(|_| indexed);
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(6);
    let suspended = spec.suspend == Some(true);

    let mut st = old.clone();
    let uncounted = flush_counted(&mut st, pods);

    // What has finished so far, counted or not.
    let prev_indexes = indexed_completions
        .map(|c| Indexes::parse(st.completed_indexes.as_deref().unwrap_or(""), c))
        .unwrap_or_default();
    let fresh = |p: &&&Pod| has_finalizer(p) && !uncounted.contains(uid(p));
    let succeeded = match indexed_completions {
        Some(c) => {
            let mut all = prev_indexes.clone();
            let done = pods
                .iter()
                .filter(|p| has_finalizer(p) && phase(p) == "Succeeded");
            for i in done.filter_map(|p| completion_index(p)).filter(|i| *i < c) {
                all.insert(i);
            }
            all
        }
        None => Indexes::default(),
    };
    let succeeded_count = match indexed_completions {
        Some(_) => succeeded.total(),
        None => {
            let new = pods
                .iter()
                .filter(fresh)
                .filter(|p| phase(p) == "Succeeded");
            st.succeeded.unwrap_or(0) + uncounted.succeeded.len() as i32 + new.count() as i32
        }
    };
    let valid =
        |p: &Pod| indexed_completions.is_none_or(|c| completion_index(p).is_some_and(|i| i < c));
    let new_failed = pods
        .iter()
        .filter(fresh)
        .filter(|p| is_pod_failed(p) && valid(p))
        .count();
    let failed = st.failed.unwrap_or(0) + uncounted.failed.len() as i32 + new_failed as i32;

    let active_pods: Vec<&Pod> = pods.iter().copied().filter(|p| is_active(p)).collect();
    let mut active = active_pods.len() as i32;
    let mut terminating = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some() && !is_terminal(p))
        .count() as i32;
    let ready = active_pods.iter().filter(|p| is_ready(p)).count() as i32;

    if st.start_time.is_none() && !suspended {
        st.start_time = Some(Time(now));
    }
    // Resuming restarts the deadline's clock.
    let resuming = !suspended && cond::true_condition(&st, cond::SUSPENDED).is_some();
    let start = if resuming {
        Some(now)
    } else {
        st.start_time.as_ref().map(|t| t.0)
    };

    let mut finish = None;
    if let Some(c) = cond::true_condition(&st, cond::FAILURE_TARGET) {
        let reason = match c.reason.as_deref() {
            Some(cond::DEADLINE_EXCEEDED) => cond::DEADLINE_EXCEEDED,
            _ => cond::BACKOFF_LIMIT_EXCEEDED,
        };
        finish = Some(Finish::failure(reason, message_for(reason)));
    } else if cond::true_condition(&st, cond::SUCCESS_CRITERIA_MET).is_some() {
        finish = Some(Finish::success());
    } else if failed > backoff_limit || backoff::past_limit_on_failure(job, pods, backoff_limit) {
        finish = Some(Finish::failure(
            cond::BACKOFF_LIMIT_EXCEEDED,
            cond::BACKOFF_LIMIT_EXCEEDED_MSG,
        ));
    } else if let (Some(secs), Some(start), false) =
        (spec.active_deadline_seconds, start, suspended)
    {
        let left = SignedDuration::from_secs(secs) - now.duration_since(start);
        if left <= SignedDuration::ZERO {
            finish = Some(Finish::failure(
                cond::DEADLINE_EXCEEDED,
                cond::DEADLINE_EXCEEDED_MSG,
            ));
        } else {
            out.requeue_after = Duration::try_from(left).ok();
        }
    }

    if finish.is_some() {
        // Ending: every active pod goes.
        for p in active_pods.iter().take(MAX_POD_CHANGES_PER_PLAN) {
            out.delete.push(PodRef::of(p));
            out.events.push(delete_event(p));
        }
        let n = out.delete.len() as i32;
        active -= n;
        terminating += n;
    } else {
        let managed = job.metadata.deletion_timestamp.is_none();
        if managed {
            let m = Manage {
                snapshot,
                spec,
                indexed_completions,
                parallelism,
                suspended,
                succeeded: &succeeded,
                succeeded_count,
            };
            let deleted = m.run(&active_pods, &mut out);
            active += out.create.len() as i32 - deleted;
            terminating += deleted;
        }
        let complete = match completions {
            None => succeeded_count > 0 && active == 0,
            Some(c) => succeeded_count >= c && active == 0,
        };
        if complete {
            finish = Some(Finish::success());
        } else if managed && suspended {
            if ensure(
                &mut st,
                cond::SUSPENDED,
                "True",
                "JobSuspended",
                "Job suspended",
                now,
            ) {
                out.events.push(event(false, "Suspended", "Job suspended"));
            }
        } else if managed
            && ensure(
                &mut st,
                cond::SUSPENDED,
                "False",
                "JobResumed",
                "Job resumed",
                now,
            )
        {
            out.events.push(event(false, "Resumed", "Job resumed"));
            st.start_time = Some(Time(now));
        }
    }

    // Count what finished, release those pods.
    let ending = finish.as_ref().map_or(Ending::No, |f| f.ending);
    let mut indexes = prev_indexes;
    let recorded = record(
        &mut st,
        uncounted,
        pods,
        indexed_completions,
        &mut indexes,
        ending,
        job.metadata.deletion_timestamp.is_some(),
    );
    out.remove_finalizer = recorded.release;
    if indexed_completions.is_some() {
        st.succeeded = Some(indexes.total());
        st.completed_indexes = Some(indexes.to_string());
    }

    if let Some(f) = &finish {
        let (interim, last) = match f.ending {
            Ending::Failure => (cond::FAILURE_TARGET, cond::FAILED),
            _ => (cond::SUCCESS_CRITERIA_MET, cond::COMPLETE),
        };
        if cond::find(&st, interim).is_none() {
            st.conditions
                .get_or_insert_with(Vec::new)
                .push(cond::new(interim, "True", f.reason, f.message, now));
        }
        let counted = st
            .uncounted_terminated_pods
            .as_ref()
            .is_none_or(|u| u.succeeded.is_none() && u.failed.is_none());
        if counted && !recorded.reached_max && terminating == 0 {
            ensure(&mut st, last, "True", f.reason, f.message, now);
            if f.ending == Ending::Success {
                st.completion_time = Some(Time(now));
                out.events.push(event(false, "Completed", "Job completed"));
            } else {
                out.events.push(JobEvent {
                    warning: true,
                    reason: f.reason,
                    message: f.message.to_string(),
                });
            }
            out.requeue_after = None;
        }
    }

    st.active = Some(active.max(0));
    st.ready = Some(ready);
    st.terminating = Some(terminating);
    normalize(&mut st);
    let mut old = old;
    normalize(&mut old);
    if st != old {
        out.status = Some(st);
    }
    out
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or("")
}

fn message_for(reason: &str) -> &'static str {
    if reason == cond::DEADLINE_EXCEEDED {
        cond::DEADLINE_EXCEEDED_MSG
    } else {
        cond::BACKOFF_LIMIT_EXCEEDED_MSG
    }
}

fn event(warning: bool, reason: &'static str, message: &str) -> JobEvent {
    JobEvent {
        warning,
        reason,
        message: message.to_string(),
    }
}

/// Counters the API server omits when zero are written as absent, so that a
/// status read back compares equal.
fn normalize(st: &mut JobStatus) {
    for n in [&mut st.active, &mut st.succeeded, &mut st.failed] {
        if *n == Some(0) {
            *n = None;
        }
    }
    if st.completed_indexes.as_deref() == Some("") {
        st.completed_indexes = None;
    }
}
