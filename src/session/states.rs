//! Moving states (KV caches) between sessions built on the same backends, without copying them.

use super::{Placed, Session};
use crate::backend::{Backend, DeviceBuffer};
use crate::error::{Error, Result};
use crate::graph::{Graph, ValueId};
use crate::tensor::TensorDesc;
use std::collections::HashMap;
use std::sync::Arc;

/// States moved out of a session by [`Session::take_states`], to be handed to another session
/// ([`Session::put_states`], [`Session::with_states`]) that declares states of the same names,
/// dtypes and shapes on the same backend. The device buffers move; nothing is copied.
#[derive(Default)]
pub struct StateSet {
    entries: Vec<MovedState>,
}

struct MovedState {
    name: String,
    desc: TensorDesc,
    backend: Arc<dyn Backend>,
    buffer: Box<dyn DeviceBuffer>,
}

impl std::fmt::Debug for StateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|e| (&e.name, e.backend.name()))).finish()
    }
}

impl StateSet {
    /// The names of the states held.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Number of states held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no state.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Matches every entry to a state of `graph` placed on `homes`, or says which does not fit
    /// (nothing is consumed then: the caller still owns `self`).
    fn plan(
        &self,
        graph: &Graph,
        homes: &HashMap<ValueId, usize>,
        backends: &[Arc<dyn Backend>],
    ) -> Result<Vec<(ValueId, usize)>> {
        let mut matched = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let id = graph.find(&e.name).ok().filter(|id| homes.contains_key(id)).ok_or_else(|| {
                Error::Graph(format!("state `{}` handed over, but this session has no state of that name", e.name))
            })?;
            let want = &graph.value(id).desc;
            if *want != e.desc {
                return Err(Error::Graph(format!(
                    "state `{}` handed over as {} {:?}, this session declares {} {:?}",
                    e.name, e.desc.dtype, e.desc.shape, want.dtype, want.shape
                )));
            }
            let home = homes[&id];
            if !Arc::ptr_eq(&backends[home], &e.backend) {
                return Err(Error::Graph(format!(
                    "state `{}` lives on a backend `{}` that this session does not place it on (`{}`): \
                     build both sessions with the same backend instances",
                    e.name,
                    e.backend.name(),
                    backends[home].name()
                )));
            }
            matched.push((id, home));
        }
        Ok(matched)
    }

    /// Consumes the set into placed buffers for a session being built.
    pub(super) fn check_against(
        self,
        graph: &Graph,
        homes: &HashMap<ValueId, usize>,
        backends: &[Arc<dyn Backend>],
    ) -> Result<HashMap<ValueId, Placed>> {
        let matched = self.plan(graph, homes, backends)?;
        Ok(matched.into_iter().zip(self.entries).map(|((id, home), e)| (id, (home, e.buffer))).collect())
    }
}

impl Session {
    /// Moves every state this session holds out of it. Until they are put back
    /// ([`Session::put_states`]), a run that needs them fails with a typed error.
    pub fn take_states(&mut self) -> StateSet {
        let mut ids: Vec<ValueId> = self.states.keys().copied().collect();
        ids.sort();
        let entries = ids
            .into_iter()
            .map(|id| {
                let (b, buffer) = self.states.remove(&id).expect("listed above");
                let value = self.graph.value(id);
                MovedState {
                    name: value.name.clone(),
                    desc: value.desc.clone(),
                    backend: self.backends[b].clone(),
                    buffer,
                }
            })
            .collect();
        StateSet { entries }
    }

    /// Puts states taken from this or another session into this one (replacing what it holds
    /// under those names). On an error nothing changes and the set is given back with it.
    pub fn put_states(&mut self, set: StateSet) -> std::result::Result<(), (Error, StateSet)> {
        match set.plan(&self.graph, &self.state_homes, &self.backends) {
            Ok(matched) => {
                for ((id, home), e) in matched.into_iter().zip(set.entries) {
                    self.states.insert(id, (home, e.buffer));
                }
                Ok(())
            }
            Err(e) => Err((e, set)),
        }
    }

    /// A typed error for a state that was moved out and not put back.
    pub(super) fn check_states_present(&self, states: &[ValueId]) -> Result<()> {
        check_present(&self.graph, &self.states, &self.state_homes, states)
    }
}

/// A typed error for the first of `wanted` that has a home but is not held (moved out).
pub(super) fn check_present(
    graph: &Graph,
    held: &HashMap<ValueId, Placed>,
    homes: &HashMap<ValueId, usize>,
    wanted: &[ValueId],
) -> Result<()> {
    match wanted.iter().find(|s| homes.contains_key(s) && !held.contains_key(s)) {
        None => Ok(()),
        Some(s) => Err(Error::Graph(format!(
            "state `{}` was moved out of this session (take_states) and not put back",
            graph.value(*s).name
        ))),
    }
}
