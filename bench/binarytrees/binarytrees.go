// binarytrees: the Go version of binarytrees.c (GCBench-style), same
// algorithm, same checksum.  Usage: binarytrees [DEPTH]  (default 16)
//
// stdout: "checksum N"; stderr, last line:
//   STATS variant=go depth=D collections=N total_pause_ns=T max_pause_ns=M
// from runtime.ReadMemStats (NumGC, PauseTotalNs, max of PauseNs, which
// holds the last 256 pauses).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

type Node struct {
	left, right *Node
	i, j        int32
}

const (
	kArraySize    = 500000
	kMinTreeDepth = 4
)

var stretchDepth int

func newNode(l, r *Node) *Node { return &Node{left: l, right: r} }

func treeSize(depth int) int64 { return (int64(1) << (depth + 1)) - 1 }
func numIters(depth int) int64 {
	return 2 * treeSize(stretchDepth) / treeSize(depth)
}

func populate(depth int, n *Node) {
	if depth <= 0 {
		return
	}
	depth--
	n.left = newNode(nil, nil)
	n.right = newNode(nil, nil)
	n.i = int32(depth)
	populate(depth, n.left)
	populate(depth, n.right)
}

func makeTree(depth int) *Node {
	if depth <= 0 {
		return newNode(nil, nil)
	}
	l := makeTree(depth - 1)
	r := makeTree(depth - 1)
	n := newNode(l, r)
	n.j = int32(depth)
	return n
}

func checkTree(n *Node) uint64 {
	var sum uint64
	for n != nil {
		sum += 1 + uint64(n.i)*3 + uint64(n.j)*7
		sum += checkTree(n.left)
		n = n.right
	}
	return sum
}

var checksum uint64

func mix(v uint64) { checksum = checksum*1000003 + v }

func timeConstruction(depth int) {
	iters := numIters(depth)
	var top, bottom uint64
	for k := int64(0); k < iters; k++ {
		t := newNode(nil, nil)
		populate(depth, t)
		top += checkTree(t)
	}
	for k := int64(0); k < iters; k++ {
		t := makeTree(depth)
		bottom += checkTree(t)
	}
	mix(top)
	mix(bottom)
}

func main() {
	maxDepth := 16
	if len(os.Args) > 1 {
		d, err := strconv.Atoi(os.Args[1])
		if err != nil {
			d = 0
		}
		maxDepth = d
	}
	if maxDepth < kMinTreeDepth || maxDepth > 26 {
		fmt.Fprintln(os.Stderr, "usage: binarytrees [DEPTH]  (4 <= DEPTH <= 26)")
		os.Exit(2)
	}
	stretchDepth = maxDepth + 2
	longLivedDepth := maxDepth

	stretch := makeTree(stretchDepth)
	mix(checkTree(stretch))
	stretch = nil

	longLived := newNode(nil, nil)
	populate(longLivedDepth, longLived)
	array := make([]float64, kArraySize)
	for k := 0; k < kArraySize/2; k++ {
		array[k] = 1.0 / float64(k+1)
	}

	for d := kMinTreeDepth; d <= maxDepth; d += 2 {
		timeConstruction(d)
	}

	if array[999] != 1.0/1000 {
		fmt.Fprintln(os.Stderr, "binarytrees: long-lived array corrupted")
		os.Exit(1)
	}
	var asum float64
	for k := 0; k < kArraySize; k++ {
		asum += array[k]
	}
	mix(uint64(asum * 1e6))
	mix(checkTree(longLived))

	fmt.Printf("checksum %d\n", checksum)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var max uint64
	for _, p := range ms.PauseNs {
		if p > max {
			max = p
		}
	}
	fmt.Fprintf(os.Stderr, "STATS variant=go depth=%d collections=%d total_pause_ns=%d max_pause_ns=%d\n",
		maxDepth, ms.NumGC, ms.PauseTotalNs, max)
}
