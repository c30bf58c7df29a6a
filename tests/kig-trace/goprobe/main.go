// goprobe: a Go program for kig-trace tests. Go is the hard case for a ptrace supervisor: hundreds of
// threads, signals for goroutine preemption (SIGURG) arriving all the time, syscalls from goroutine stacks
// too small to write below, and os/exec children.
//
//	goprobe -redirected PATH -want TEXT -exit CODE
//
// Runs 300 goroutines that spin (forcing async preemption), sleep, make syscalls and read PATH (which
// kig-trace redirects), starts a few children, and exits with CODE when every check passed.
package main

import (
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func spin(d time.Duration) uint64 {
	// A loop without calls: only an asynchronous preemption (SIGURG) can interrupt it.
	var x uint64
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 100000; i++ {
			x += uint64(i) ^ x
		}
	}
	return x
}

func main() {
	redirected := flag.String("redirected", "", "a path that kig-trace redirects")
	want := flag.String("want", "", "what reading it must give")
	code := flag.Int("exit", 0, "exit code on success")
	workers := flag.Int("workers", 300, "goroutines")
	flag.Parse()
	runtime.GOMAXPROCS(4)

	var bad int64
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				switch (w + i) % 4 {
				case 0:
					spin(5 * time.Millisecond)
				case 1:
					time.Sleep(time.Duration(1+w%7) * time.Millisecond)
				case 2:
					var st syscall.Stat_t
					if err := syscall.Stat("/", &st); err != nil {
						atomic.AddInt64(&bad, 1)
					}
					_ = syscall.Getppid()
				case 3:
					if *redirected != "" {
						b, err := ioutil.ReadFile(*redirected)
						if err != nil || strings.TrimSpace(string(b)) != *want {
							fmt.Fprintf(os.Stderr, "read %s: %q %v\n", *redirected, b, err)
							atomic.AddInt64(&bad, 1)
						}
					}
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			fmt.Fprintf(os.Stderr, "exec: %v\n", err)
			atomic.AddInt64(&bad, 1)
		}
	}
	wg.Wait()
	if bad != 0 {
		fmt.Printf("goprobe: %d failures\n", bad)
		os.Exit(1)
	}
	fmt.Printf("goprobe ok: %d goroutines\n", *workers)
	os.Exit(*code)
}
