package scheduler

import "container/heap"

// jobQueue is a min-heap of jobs by their next fire time. Each job knows
// its index, so a changed job is moved or removed in O(log n).
type jobQueue []*job

func (q jobQueue) Len() int           { return len(q) }
func (q jobQueue) Less(a, b int) bool { return q[a].fireAt.Before(q[b].fireAt) }
func (q jobQueue) Swap(a, b int) {
	q[a], q[b] = q[b], q[a]
	q[a].index, q[b].index = a, b
}

// Push and Pop implement heap.Interface; use set, remove and pop.
func (q *jobQueue) Push(x any) {
	j := x.(*job)
	j.index = len(*q)
	*q = append(*q, j)
}

// Pop implements heap.Interface.
func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	j.index = -1
	return j
}

// set queues j, or moves it after its fireAt changed.
func (q *jobQueue) set(j *job) {
	if j.index >= 0 {
		heap.Fix(q, j.index)
		return
	}
	heap.Push(q, j)
}

// remove takes j out of the queue if it is in it.
func (q *jobQueue) remove(j *job) {
	if j.index >= 0 {
		heap.Remove(q, j.index)
	}
}

// pop removes and returns the earliest job.
func (q *jobQueue) pop() *job { return heap.Pop(q).(*job) }
