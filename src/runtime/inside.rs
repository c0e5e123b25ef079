//! The runtime's side of the views from inside the embedded broker: takes a snapshot when the UI
//! asks (the UI asks only while a view is shown) and carries out the clients view's actions.
//!
//! Owns: [`inspect`], [`act`] and [`fault`]. A snapshot walks the broker's state under its lock on the blocking
//! pool, so the runtime's command loop goes on meanwhile; it is answered with [`Event::BrokerInside`].

use crate::broker::{Broker, inspect as broker_inspect};
use crate::model::broker_view::{ClientAction, InsideUpdate};
use crate::model::faults::FaultAction;
use crate::protocol::{Event, EventSink, InspectRequest};

/// Take the snapshot asked for and send it to the UI.
pub async fn inspect(broker: Broker, request: InspectRequest, sink: EventSink) {
    let update = tokio::task::spawn_blocking(move || {
        let shared = broker.shared();
        match request {
            InspectRequest::Clients => InsideUpdate::Clients(broker_inspect::clients(shared)),
            InspectRequest::Subscriptions => InsideUpdate::Subscriptions(broker_inspect::subscriptions(shared)),
            InspectRequest::Retained { filter } => InsideUpdate::Retained(broker_inspect::retained(shared, &filter)),
            InspectRequest::Receivers { topic } => {
                let rows = broker_inspect::receivers(shared, &topic);
                InsideUpdate::Receivers(topic, rows)
            }
            InspectRequest::Trace { after } => InsideUpdate::Trace(shared.trace.since(after)),
            InspectRequest::Faults => InsideUpdate::Faults(shared.faults.list()),
            InspectRequest::RetainedValues => InsideUpdate::RetainedValues(broker_inspect::retained_values(shared)),
            InspectRequest::Availability => InsideUpdate::Availability(crate::broker::availability::board(shared)),
        }
    })
    .await;
    if let Ok(update) = update {
        sink.control(Event::BrokerInside(update)).await;
    }
}

/// Change the injected faults, say so, and send the new list.
pub async fn fault(broker: &Broker, action: FaultAction, sink: &EventSink) {
    let text = crate::broker::faults::act(broker.shared(), &action);
    tracing::info!(?action, "fault injection");
    sink.control(Event::Notice(text)).await;
    sink.control(Event::BrokerInside(InsideUpdate::Faults(broker.shared().faults.list()))).await;
}

/// Carry out an action on a client and say how it went.
pub async fn act(broker: &Broker, action: ClientAction, sink: &EventSink) {
    let event = match broker_inspect::act(broker.shared(), &action) {
        Ok(text) => {
            tracing::info!(?action, "client action");
            Event::Notice(text)
        }
        Err(err) => Event::Error(err.to_string()),
    };
    sink.control(event).await;
}
