import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useSubscription } from "urql";
import type { HubNodeEventsSubscription } from "../../gql/hub/graphql";
import { NodeEventsSubscription } from "./documents";

export type NodeEvent = HubNodeEventsSubscription["regionalNodeEvents"];

/** How many of the latest events a page keeps to show. */
const RECENT = 8;

/**
 * Nodes registering, coming online and going offline as the hub announces them
 * (`regionalNodeEvents`): `onChange` runs at most twice a second however many arrive, so the
 * page asks again once for a burst. Returns the latest events, newest first, for the page to say
 * what happened.
 */
export function useNodeEvents(onChange: () => void): NodeEvent[] {
  const [result] = useSubscription({ query: NodeEventsSubscription });
  const [recent, setRecent] = useState<NodeEvent[]>([]);
  const seen = useRef<unknown>(null);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const callback = useRef(onChange);
  callback.current = onChange;

  useEffect(() => {
    const event = result.data?.regionalNodeEvents;
    if (!event || result.data === seen.current) return;
    seen.current = result.data;
    setRecent((previous) => [event, ...previous].slice(0, RECENT));
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      callback.current();
    }, 500);
  }, [result.data]);

  useEffect(
    () => () => {
      if (pending.current) clearTimeout(pending.current);
    },
    [],
  );
  return recent;
}

type NodeState = NodeEvent["node"];

/**
 * A node as the latest event about it says, where that is at least as recent as what the page
 * read (events carry the whole node: the page shows a change at once, before it asks again).
 */
export function withEvents<T extends NodeState>(
  nodes: readonly T[],
  latest: ReadonlyMap<string, NodeEvent>,
): T[] {
  return nodes.map((node) => {
    const event = latest.get(node.name);
    if (!event) return node;
    const read = node.lastHeartbeat ? Date.parse(node.lastHeartbeat) : 0;
    return Date.parse(event.at) >= read ? { ...node, ...event.node } : node;
  });
}

/**
 * An urql `context` for a page's queries that asks the hub again (network-only) after each
 * burst of node events, the latest event, and `apply` to show each node as its latest event
 * says until the page has read it again.
 */
export function useLiveNodes() {
  const [refresh, setRefresh] = useState(0);
  const bump = useCallback(() => setRefresh((value) => value + 1), []);
  const recent = useNodeEvents(bump);
  const latest = recent[0] ?? null;
  const [events, setEvents] = useState<ReadonlyMap<string, NodeEvent>>(new Map());
  useEffect(() => {
    if (latest) setEvents((previous) => new Map(previous).set(latest.node.name, latest));
  }, [latest]);
  const context = useMemo(
    () => ({
      requestPolicy: refresh > 0 ? ("network-only" as const) : ("cache-and-network" as const),
      refresh,
    }),
    [refresh],
  );
  const apply = useCallback(
    <T extends NodeState>(nodes: readonly T[]) => withEvents(nodes, events),
    [events],
  );
  return { context, latest, recent, apply };
}

export type LiveContext = ReturnType<typeof useLiveNodes>["context"];
