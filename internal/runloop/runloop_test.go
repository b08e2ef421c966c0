package runloop

import (
	"context"
	"errors"
	"testing"
	"time"
)

const wait = 10 * time.Second // generous: only a hang reaches it

func TestStopWithoutStartIsNoop(t *testing.T) {
	var l Loop
	ran, err := l.Stop(context.Background())
	if ran || err != nil {
		t.Fatalf("Stop without Start = %v, %v; want false, nil", ran, err)
	}
	if l.Stopping() {
		t.Fatal("Stopping before Start")
	}
}

func TestStopWaitsForGoroutineAndTwiceIsFine(t *testing.T) {
	var l Loop
	release := make(chan struct{})
	finished := false
	err := l.Start(nil, func() {
		<-l.StopC()
		<-release // still busy after Stop was asked
		finished = true
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() {
		_, err := l.Stop(context.Background())
		stopped <- err
	}()
	select {
	case <-stopped:
		t.Fatal("Stop returned while the goroutine was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !finished { // also a data race under -race if Stop did not wait
		t.Fatal("Stop returned before the goroutine finished")
	}
	ran, err := l.Stop(context.Background())
	if ran || err != nil {
		t.Fatalf("second Stop = %v, %v; want false, nil", ran, err)
	}
}

func TestStopDeadlineCancelsDelivery(t *testing.T) {
	var l Loop
	inDelivery := make(chan struct{})
	var deliveryErr error
	err := l.Start(nil, func() {
		ctx := l.Context()
		close(inDelivery)
		<-ctx.Done() // a delivery that ignores stop but honours its context
		deliveryErr = ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	<-inDelivery
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	ran, err := l.Stop(ctx)
	if !ran {
		t.Fatal("Stop says the loop was not running")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop error = %v; want one wrapping context.DeadlineExceeded", err)
	}
	if !errors.Is(deliveryErr, context.Canceled) { // read after Stop: it waited
		t.Fatalf("delivery ended with %v; want context.Canceled", deliveryErr)
	}
}

func TestPokeWakesWaitingLoop(t *testing.T) {
	var l Loop
	waiting, woken := make(chan struct{}), make(chan struct{})
	err := l.Start(nil, func() {
		close(waiting)
		select {
		case <-l.Wake():
			close(woken)
		case <-l.StopC():
		}
		<-l.StopC()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop(context.Background())
	<-waiting
	l.Poke()
	l.Poke() // never blocks, even with a wake-up pending
	select {
	case <-woken:
	case <-time.After(wait):
		t.Fatal("Poke did not wake the loop")
	}
}

func TestStartTwiceErrorsAndSetupRuns(t *testing.T) {
	var l Loop
	setups := 0
	setup := func() error { setups++; return nil }
	if err := l.Start(setup, func() { <-l.StopC() }); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(setup, func() {}); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start = %v; want ErrStarted", err)
	}
	if setups != 1 {
		t.Fatalf("setup ran %d times; want 1", setups)
	}
	if _, err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stopped, it starts again.
	if err := l.Start(setup, func() { <-l.StopC() }); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	if ran, _ := l.Stop(context.Background()); !ran {
		t.Fatal("restarted loop was not running")
	}
}

func TestSetupErrorLeavesLoopStopped(t *testing.T) {
	var l Loop
	boom := errors.New("boom")
	ran := false
	if err := l.Start(func() error { return boom }, func() { ran = true }); err != boom {
		t.Fatalf("Start = %v; want setup's error", err)
	}
	if stopped, err := l.Stop(context.Background()); stopped || err != nil {
		t.Fatalf("Stop after failed Start = %v, %v; want false, nil", stopped, err)
	}
	if ran {
		t.Fatal("run ran although setup failed")
	}
}
