package datastore

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestSearchBatchesConsumesInBatchOrderWithinTheLimit(t *testing.T) {
	batches := make([]int, 20)
	for i := range batches {
		batches[i] = i
	}
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	full := make(chan struct{}) // closed once resolveConcurrency searches run at once
	search := func(b int) (string, error) {
		mu.Lock()
		inFlight++
		if inFlight > maxInFlight {
			maxInFlight = inFlight
			if maxInFlight == resolveConcurrency {
				close(full)
			}
		}
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		if b < resolveConcurrency { // the first searches wait for each other: proves they overlap
			select {
			case <-full:
			case <-time.After(10 * time.Second):
				return "", fmt.Errorf("batch %d: the first %d searches never ran at once", b, resolveConcurrency)
			}
		}
		return fmt.Sprint(b), nil
	}
	var consumed []string
	err := searchBatches(batches, search, func(r string) error {
		consumed = append(consumed, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(batches))
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if !slices.Equal(consumed, want) {
		t.Errorf("consumed %v, want %v", consumed, want)
	}
	if maxInFlight != resolveConcurrency {
		t.Errorf("at most %d searches ran at once, want %d", maxInFlight, resolveConcurrency)
	}
}

func TestSearchBatchesReturnsTheFirstErrorInBatchOrder(t *testing.T) {
	errEarly, errLate := errors.New("batch 1 failed"), errors.New("batch 3 failed")
	lateFailed := make(chan struct{})
	search := func(b int) (int, error) {
		switch b {
		case 1: // fails after batch 3 has failed
			<-lateFailed
			return 0, errEarly
		case 3:
			defer close(lateFailed)
			return 0, errLate
		}
		return b, nil
	}
	var consumed []int
	err := searchBatches([]int{0, 1, 2, 3, 4}, search, func(r int) error {
		consumed = append(consumed, r)
		return nil
	})
	if !errors.Is(err, errEarly) {
		t.Fatalf("err = %v, want %v", err, errEarly)
	}
	if !slices.Equal(consumed, []int{0}) {
		t.Errorf("consumed %v, want only batch 0 (the batches before the first failing one)", consumed)
	}
}

func TestSearchBatchesStopsAtAConsumeError(t *testing.T) {
	errConsume := errors.New("entry without username")
	var consumed []int
	err := searchBatches([]int{0, 1, 2}, func(b int) (int, error) { return b, nil }, func(r int) error {
		consumed = append(consumed, r)
		if r == 1 {
			return errConsume
		}
		return nil
	})
	if !errors.Is(err, errConsume) || !slices.Equal(consumed, []int{0, 1}) {
		t.Errorf("err = %v, consumed %v; want %v after batches 0 and 1", err, consumed, errConsume)
	}
}
