package processor

import "github.com/sluiceio/sluice"

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSinkProcessor,
		Name:      "default",
		Aliases:   []string{"org.apache.flume.sink.DefaultSinkProcessor"},
		Stability: sluice.Stable,
		Doc: "Runs a single sink and passes its results through. Sinks that belong to no sink group " +
			"run through it; a group of type default must have exactly one sink.",
		Factory: sluice.MakeFactory(nil, newDefault),
		Notes: "- As in Flume, a `default` group with more than one sink is a configuration error.\n" +
			"- The processor starts and stops its sink.\n",
		Example: "a1.sinkgroups = g1\n" +
			"a1.sinkgroups.g1.sinks = k1\n" +
			"a1.sinkgroups.g1.processor.type = default\n",
	})
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSinkProcessor,
		Name:      "failover",
		Aliases:   []string{"org.apache.flume.sink.FailoverSinkProcessor"},
		Stability: sluice.Beta,
		Doc: "Sends everything to the live sink with the highest priority. A sink that fails is benched " +
			"for 1s·2^n (n = consecutive failures, so 2 s at first) up to maxpenalty, and the next sink by " +
			"priority takes over within the same call. Once a benched sink's penalty has run out it is tried " +
			"first, and it rejoins the live sinks as soon as it delivers (returns READY).",
		Factory: sluice.MakeFactory(failoverConfig, newFailover),
		Notes: "- Like Flume, a sink without `priority.<sink>` gets -1, -2, ... in the iteration order of a Java " +
			"HashMap of the sink names (not list order), and a sink whose priority duplicates another's is " +
			"never used. Sluice reproduces both, so the same sink is active as under Flume, and logs a warning " +
			"for each; set a distinct priority for every sink.\n" +
			"- `priority.<sink>` naming a sink that is not in the group is an error (Flume ignores it), with a " +
			"did-you-mean suggestion; so is a priority or maxpenalty that is not a whole number (Flume falls " +
			"back to the default). maxpenalty also accepts Go durations (`30s`).\n" +
			"- Flume's penalty arithmetic overflows after about 22 consecutive failures and then retries the " +
			"sink on every call; Sluice keeps the penalty at maxpenalty.\n" +
			"- A failure while the agent is stopping does not bench the sink.\n" +
			"- When every sink is benched the error names each sink, when it will be retried and its last error.\n" +
			"- The processor starts and stops its sinks.\n",
		Example: "a1.sinkgroups = g1\n" +
			"a1.sinkgroups.g1.sinks = k1 k2\n" +
			"a1.sinkgroups.g1.processor.type = failover\n" +
			"a1.sinkgroups.g1.processor.priority.k1 = 10\n" +
			"a1.sinkgroups.g1.processor.priority.k2 = 5\n" +
			"a1.sinkgroups.g1.processor.maxpenalty = 10000\n",
	})
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindSinkProcessor,
		Name:      "load_balance",
		Aliases:   []string{"org.apache.flume.sink.LoadBalancingSinkProcessor"},
		Stability: sluice.Beta,
		Doc: "Spreads the work over two or more sinks. Each call tries the sinks in the selector's order " +
			"(round_robin or random) until one does not fail, and returns that sink's status. With backoff, " +
			"a failed sink is left out for min(selector.maxTimeOut, 1s·2^n), n growing while failures recur " +
			"within an hour (up to 16).",
		Factory: sluice.MakeFactory(loadBalanceConfig, newLoadBalance),
		Notes: "- Custom selector classes (a class name in `selector`) are not supported; an unknown selector is " +
			"an error with a did-you-mean suggestion.\n" +
			"- As in Flume, a group with a single sink is an error, a sink that returns BACKOFF ends the call " +
			"(it is not a failure), and `selector.maxTimeOut = 0` means the default 30000 ms. It also accepts " +
			"Go durations (`30s`).\n" +
			"- When every sink is backed off, Flume's random selector fails with an unrelated exception; " +
			"Sluice returns an error naming each sink and when it comes back.\n" +
			"- A failure while the agent is stopping does not blacklist the sink.\n" +
			"- The processor starts and stops its sinks.\n",
		Example: "a1.sinkgroups = g1\n" +
			"a1.sinkgroups.g1.sinks = k1 k2 k3\n" +
			"a1.sinkgroups.g1.processor.type = load_balance\n" +
			"a1.sinkgroups.g1.processor.selector = round_robin\n" +
			"a1.sinkgroups.g1.processor.backoff = true\n" +
			"a1.sinkgroups.g1.processor.selector.maxTimeOut = 30000\n",
	})
}
