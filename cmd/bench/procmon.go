package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStats is what one process looked like at its last successful poll.
type procStats struct {
	HWMKiB  int64   // VmHWM: peak resident set size so far
	CPUSecs float64 // utime + stime
}

// monitor polls /proc for the peak RSS and CPU time of terraform and of every provider
// process the wrapper script announced in pidFile. Terraform reaps its plugins, so their
// peak RSS cannot come from wait4; VmHWM is monotonic, so the last poll before a process
// exits is a lower bound that misses at most one interval of growth.
type monitor struct {
	pidFile   string
	interval  time.Duration
	clockTick float64

	mu        sync.Mutex
	terraform int
	seen      map[int]procStats // provider pid -> last stats
	tfStats   procStats

	stop chan struct{}
	done chan struct{}
}

func newMonitor(pidFile string, interval time.Duration) *monitor {
	return &monitor{pidFile: pidFile, interval: interval, clockTick: 100, seen: map[int]procStats{}}
}

// start begins polling terraform's pid and the providers named in pidFile.
func (m *monitor) start(terraformPID int) {
	m.terraform = terraformPID
	m.stop = make(chan struct{})
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			m.poll()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// finish stops polling and returns terraform's stats, the providers' peak RSS (max over all
// provider processes) and their CPU seconds (sum), and how many provider processes ran.
func (m *monitor) finish() (tf procStats, providerHWMKiB int64, providerCPU float64, providers int) {
	m.poll() // pick up a process that announced itself after the last tick
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.seen {
		providerHWMKiB = max(providerHWMKiB, s.HWMKiB)
		providerCPU += s.CPUSecs
	}
	return m.tfStats, providerHWMKiB, providerCPU, len(m.seen)
}

func (m *monitor) poll() {
	pids := readPIDs(m.pidFile)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := readProcStats(m.terraform, m.clockTick); ok {
		m.tfStats = mergeStats(m.tfStats, s)
	}
	for _, pid := range pids {
		if s, ok := readProcStats(pid, m.clockTick); ok {
			m.seen[pid] = mergeStats(m.seen[pid], s)
		} else if _, known := m.seen[pid]; !known {
			m.seen[pid] = procStats{} // exited before the first poll: counted, no numbers
		}
	}
}

// mergeStats keeps the larger of two readings: the wrapper's shell is polled before it
// execs the provider, and a reading of a dying process may come back empty.
func mergeStats(old, cur procStats) procStats {
	return procStats{HWMKiB: max(old.HWMKiB, cur.HWMKiB), CPUSecs: max(old.CPUSecs, cur.CPUSecs)}
}

func readPIDs(path string) []int {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readProcStats(pid int, clockTick float64) (procStats, bool) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStats{}, false
	}
	hwm, ok := parseVmHWM(status)
	if !ok {
		return procStats{}, false // a zombie has no memory lines
	}
	s := procStats{HWMKiB: hwm}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if ticks, ok := parseCPUTicks(stat); ok {
			s.CPUSecs = float64(ticks) / clockTick
		}
	}
	return s, true
}

// parseVmHWM returns the VmHWM line of /proc/<pid>/status in KiB.
func parseVmHWM(status []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		return n, err == nil
	}
	return 0, false
}

// parseCPUTicks returns utime + stime from /proc/<pid>/stat. The command name (field 2) may
// contain spaces and parentheses, so fields are counted after its last ')'.
func parseCPUTicks(stat []byte) (int64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// After ')': state is field 3 of the man page, so utime (14) and stime (15) are at 11 and 12.
	if len(fields) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return ut + st, true
}
