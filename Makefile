# Sluice build and test entry points. `make test` is what CI runs.
GO ?= go
BIN := bin/sluice

.PHONY: plugins build test test-short vet fmt-check docs bench run-example clean peers fuzz

build:
	# Static, without libc: a smaller idle footprint and one binary that runs anywhere.
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/sluice

# The example plugins (examples/plugins/<name>) in a plugins.d layout:
# sluice agent --plugins-path bin/plugins.d ... (docs/plugins.md).
PLUGINS := redis jsonheaders
plugins:
	@for p in $(PLUGINS); do \
		mkdir -p bin/plugins.d/$$p && \
		CGO_ENABLED=0 $(GO) build -o bin/plugins.d/$$p/$$p-plugin ./examples/plugins/$$p && \
		cp examples/plugins/$$p/plugin.json bin/plugins.d/$$p/ || exit 1; \
	done

# Everything CI checks: formatting, vet, generated docs up to date, and all tests.
# test/reliability is the longest package (~13 min, mostly faults held for
# their full length and one JVM peer at a time) and mostly waits: it runs
# beside the others from the start instead of after them, its output
# printed when it ends.
test: fmt-check vet peers
	@rel=$$(mktemp); \
	$(GO) test -count=1 -timeout 25m ./test/reliability >$$rel 2>&1 & pid=$$!; \
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/test/reliability$$'); st=$$?; \
	wait $$pid; rst=$$?; cat $$rel; rm -f $$rel; \
	[ $$st -eq 0 ] && [ $$rst -eq 0 ]
	$(MAKE) fuzz

# Every fuzz target, one after the other, each for FUZZTIME (a minute or so
# in all by default, most of it compiling). An input that fails is written to the package's
# testdata/fuzz/<Target>/: fix the bug and commit the input, so plain
# `go test` replays it from then on.
FUZZTIME ?= 4s
FUZZ_TARGETS := \
	./conf:FuzzParseProperties \
	./internal/avroipc:FuzzFrameDecoder \
	./internal/flumethrift:FuzzDecodeCall \
	./sources/http:FuzzJSONHandler \
	./internal/syslog:FuzzSyslogParse \
	./sources/spooldir:FuzzLineDeserializer \
	./internal/kafkaclient:FuzzDecodeFlumeEvent \
	./sources/kafka:FuzzRecordFlumeFormat \
	./plugins/wire:FuzzDecodeBatch
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# Unit tests only: no Java, Maven or built binary (the packages that need
# them skip under -short). About a minute.
test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

docs: build
	./$(BIN) docs -o docs

# Every workload on Sluice and on Apache Flume (same conf), median of 3 runs;
# writes docs/performance.md and docs/performance.svg. Takes a while.
bench: build peers
	$(GO) run ./bench/cmd/sluice-bench -sluice $(BIN) -report docs/performance.md

# The reliability suite alone (kill -9, outages, rotation while down against the
# real binary; also part of `make test`), rewriting docs/reliability.md with
# what it measured. Add RELIABILITY_FLAGS=-reliability.long for longer faults.
reliability:
	$(GO) test -count=1 -timeout 30m ./test/reliability -run . -v $(RELIABILITY_FLAGS) \
		-reliability.report $(CURDIR)/docs/reliability.md

run-example: build
	./$(BIN) agent -n a1 -f examples/netcat-logger.conf -Dflume.root.logger=INFO,console

# Real peer servers' jars (Flume...) into .peers/<name>/lib; see docs/peers.md.
peers:
	scripts/peers.sh fetch flume kafka flume-kafka hdfs flume-hdfs opensearch hbase flume-hbase

clean:
	rm -rf bin
