//! The in-process bus of standalone mode: unbounded channels between tasks of one process.
//!
//! Unbounded on purpose: back-pressure is the controller's throttles and load balancer slots and
//! the invoker's memory-based queue, as with Kafka in OpenWhisk. Nothing survives the process,
//! so acknowledgements are no-ops; the pending markers in the store are what make acknowledged
//! activations survive a crash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::{
    Ack, ActivationMessage, Bus, BusError, CacheInvalidation, CompletionMessage, ControllerId,
    Delivery, Feed, InvokerId, InvokerPing, Publisher, Result,
};

type Tx<T> = mpsc::UnboundedSender<T>;

#[derive(Debug, Default)]
struct Routes {
    closed: bool,
    invokers: HashMap<InvokerId, Tx<ActivationMessage>>,
    controllers: HashMap<ControllerId, Tx<CompletionMessage>>,
    pings: Vec<Tx<InvokerPing>>,
    invalidations: Vec<Tx<CacheInvalidation>>,
}

/// A bus for the controllers and invokers of one process.
#[derive(Debug, Clone, Default)]
pub struct InProcessBus {
    routes: Arc<Mutex<Routes>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        // No code path panics while holding the lock; recover the data if one ever did.
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Close the bus: every feed ends and every publish fails with [`BusError::Closed`].
    pub fn close(&self) {
        let mut r = self.routes();
        r.closed = true;
        r.invokers.clear();
        r.controllers.clear();
        r.pings.clear();
        r.invalidations.clear();
    }
}

#[derive(Debug)]
struct ChannelFeed<T>(mpsc::UnboundedReceiver<T>);

#[async_trait]
impl<T: Send + std::fmt::Debug + 'static> Feed<T> for ChannelFeed<T> {
    async fn next(&mut self) -> Option<T> {
        self.0.recv().await
    }
}

#[derive(Debug)]
struct DeliveryFeed(mpsc::UnboundedReceiver<ActivationMessage>);

#[async_trait]
impl Feed<Delivery> for DeliveryFeed {
    async fn next(&mut self) -> Option<Delivery> {
        let message = self.0.recv().await?;
        Some(Delivery {
            message,
            ack: Ack::none(),
        })
    }
}

fn check_open(r: &Routes) -> Result<()> {
    if r.closed {
        Err(BusError::Closed)
    } else {
        Ok(())
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn activations(&self, invoker: InvokerId) -> Result<Box<dyn Feed<Delivery>>> {
        let mut r = self.routes();
        check_open(&r)?;
        if r.invokers.get(&invoker).is_some_and(|tx| !tx.is_closed()) {
            return Err(BusError::AlreadySubscribed(invoker.to_string()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        r.invokers.insert(invoker, tx);
        Ok(Box::new(DeliveryFeed(rx)))
    }

    async fn completions(
        &self,
        controller: ControllerId,
    ) -> Result<Box<dyn Feed<CompletionMessage>>> {
        let mut r = self.routes();
        check_open(&r)?;
        if r.controllers
            .get(&controller)
            .is_some_and(|tx| !tx.is_closed())
        {
            return Err(BusError::AlreadySubscribed(controller.to_string()));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        r.controllers.insert(controller, tx);
        Ok(Box::new(ChannelFeed(rx)))
    }

    async fn pings(&self) -> Result<Box<dyn Feed<InvokerPing>>> {
        let mut r = self.routes();
        check_open(&r)?;
        let (tx, rx) = mpsc::unbounded_channel();
        r.pings.push(tx);
        Ok(Box::new(ChannelFeed(rx)))
    }

    async fn invalidations(&self) -> Result<Box<dyn Feed<CacheInvalidation>>> {
        let mut r = self.routes();
        check_open(&r)?;
        let (tx, rx) = mpsc::unbounded_channel();
        r.invalidations.push(tx);
        Ok(Box::new(ChannelFeed(rx)))
    }

    fn activation_publisher(&self) -> Arc<dyn Publisher<ActivationMessage>> {
        Arc::new(self.clone())
    }

    fn completion_publisher(&self) -> Arc<dyn Publisher<CompletionMessage>> {
        Arc::new(self.clone())
    }

    fn ping_publisher(&self) -> Arc<dyn Publisher<InvokerPing>> {
        Arc::new(self.clone())
    }

    fn invalidation_publisher(&self) -> Arc<dyn Publisher<CacheInvalidation>> {
        Arc::new(self.clone())
    }
}

#[async_trait]
impl Publisher<ActivationMessage> for InProcessBus {
    async fn publish(&self, msg: ActivationMessage) -> Result<()> {
        let mut r = self.routes();
        check_open(&r)?;
        let invoker = msg.invoker;
        let Some(tx) = r.invokers.get(&invoker) else {
            return Err(BusError::NoSuchInvoker(invoker));
        };
        if tx.send(msg).is_err() {
            r.invokers.remove(&invoker);
            return Err(BusError::NoSuchInvoker(invoker));
        }
        Ok(())
    }
}

#[async_trait]
impl Publisher<CompletionMessage> for InProcessBus {
    /// A completion for a controller that is gone is dropped: nobody waits for it, and the
    /// record is already stored.
    async fn publish(&self, msg: CompletionMessage) -> Result<()> {
        let mut r = self.routes();
        check_open(&r)?;
        let controller = msg.controller;
        if let Some(tx) = r.controllers.get(&controller) {
            if tx.send(msg).is_err() {
                r.controllers.remove(&controller);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Publisher<InvokerPing> for InProcessBus {
    async fn publish(&self, msg: InvokerPing) -> Result<()> {
        let mut r = self.routes();
        check_open(&r)?;
        r.pings.retain(|tx| tx.send(msg.clone()).is_ok());
        Ok(())
    }
}

#[async_trait]
impl Publisher<CacheInvalidation> for InProcessBus {
    async fn publish(&self, msg: CacheInvalidation) -> Result<()> {
        let mut r = self.routes();
        check_open(&r)?;
        r.invalidations.retain(|tx| tx.send(msg.clone()).is_ok());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn behaviour_suite() {
        crate::behaviour::run_all(|| async { Box::new(InProcessBus::new()) as Box<dyn Bus> }).await;
    }

    #[tokio::test]
    async fn close_ends_feeds_and_refuses_publishes() {
        let bus = InProcessBus::new();
        let mut feed = bus.activations(InvokerId(0)).await.unwrap();
        bus.close();
        assert!(feed.next().await.is_none());
        let publisher = bus.activation_publisher();
        let msg = crate::behaviour::activation(ControllerId(0), InvokerId(0), "a");
        assert_eq!(publisher.publish(msg).await, Err(BusError::Closed));
    }
}
