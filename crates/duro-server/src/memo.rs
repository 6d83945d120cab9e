//! One remembered value and the key it was computed for: the server's caches (the overview, the
//! planner, the graph layout, the header figures) are each one `Memo`.

use std::convert::Infallible;
use std::sync::Mutex;

pub(crate) struct Memo<K, V> {
    slot: Mutex<Option<(K, V)>>,
}

impl<K, V: Clone> Memo<K, V> {
    pub(crate) fn new() -> Self {
        Self { slot: Mutex::new(None) }
    }

    /// The remembered value when `still_good` accepts its key; otherwise `compute`s a new one
    /// and remembers it under `key`. Errors are not remembered.
    pub(crate) fn get_or<E>(
        &self,
        key: K,
        still_good: impl FnOnce(&K) -> bool,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Ok(slot) = self.slot.lock()
            && let Some((remembered, value)) = slot.as_ref()
            && still_good(remembered)
        {
            return Ok(value.clone());
        }
        let value = compute()?;
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((key, value.clone()));
        }
        Ok(value)
    }

    /// `get_or` for a computation that cannot fail.
    pub(crate) fn get(
        &self,
        key: K,
        still_good: impl FnOnce(&K) -> bool,
        compute: impl FnOnce() -> V,
    ) -> V {
        match self.get_or(key, still_good, || Ok::<V, Infallible>(compute())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn computes_again_only_when_the_key_is_no_longer_good() {
        let memo: Memo<u32, u32> = Memo::new();
        let computed = std::cell::Cell::new(0);
        let get = |key: u32| {
            memo.get(
                key,
                |seen| *seen == key,
                || {
                    computed.set(computed.get() + 1);
                    key * 10
                },
            )
        };
        assert_eq!(get(1), 10);
        assert_eq!(get(1), 10);
        assert_eq!(get(2), 20);
        assert_eq!(computed.get(), 2);
        let failed: Result<u32, &str> = memo.get_or(3, |_| false, || Err("no"));
        assert_eq!(failed, Err("no"));
        assert_eq!(memo.get_or(2, |k| *k == 2, || Err::<u32, ()>(())), Ok(20), "kept");
    }
}
