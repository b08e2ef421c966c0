// Package processor implements Flume's sink processors: default, failover
// and load_balance. A sink processor owns one sink group (Env.Sinks, in the
// group's configured order) and decides which member sink handles each
// Process call.
//
// Contract for the agent:
//
//   - The processor owns its member sinks' lifecycle, as Flume's processors
//     do: Start starts every member sink (in configuration order), Stop stops
//     them (in the same order). The agent must not start or stop a grouped
//     sink itself. Start and Stop are idempotent; Stop is safe without
//     Start. When a member sink fails to start, Start stops the members it
//     already started and returns the error.
//   - Run one runner goroutine per processor, calling Process in a loop with
//     the sink runner's backoff (Flume: BACKOFF sleeps min(n·1s, 5s), an
//     error sleeps 5s). Process must not be called concurrently with itself;
//     it serialises callers with a mutex anyway, to stay safe.
//   - A sink that belongs to no group is run through the default processor
//     built with Env.Sinks = [that sink], as Flume does; the processor then
//     starts and stops it.
//   - Process returns the status of the sink that handled the call. It
//     returns an error only when no member sink could handle it (every sink
//     failed, is penalised or backed off); the error names the sinks.
//   - New fails on configuration mistakes that need the group's members
//     (priority.<name> for a sink not in the group, a default group with more
//     than one sink, a load_balance group with one sink). Those errors are
//     conf.PropError values where a property is to blame, so the loader can
//     position them like Validate's.
package processor
