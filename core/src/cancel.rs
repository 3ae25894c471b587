//! A cancellation signal that stream producers and the sampler select on.

use tokio::sync::watch;

/// Fires the signal; dropping it fires it too.
#[derive(Debug)]
pub struct CancelSource(watch::Sender<bool>);

/// Waits for the signal; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

/// A new signal and its first listener.
pub fn channel() -> (CancelSource, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelSource(tx), Cancel(rx))
}

impl CancelSource {
    /// Fires the signal (idempotent).
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    /// A new listener.
    pub fn listener(&self) -> Cancel {
        Cancel(self.0.subscribe())
    }
}

impl Cancel {
    /// Completes once the signal fired or its source is gone.
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        // An error means the source was dropped, which counts as cancelled.
        let _ = rx.wait_for(|fired| *fired).await;
    }

    /// Whether the signal fired already.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_on_cancel_and_on_drop() {
        let (src, c) = channel();
        assert!(!c.is_cancelled());
        src.cancel();
        c.cancelled().await;
        assert!(c.is_cancelled());
        let (src, c) = channel();
        drop(src);
        c.cancelled().await;
        assert!(c.is_cancelled());
    }
}
