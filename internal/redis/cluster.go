package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/kvdb"
)

// crossSlotHint follows a Redis Cluster's refusal of a command whose
// keys are in different hash slots.
const crossSlotHint = ": in a Redis Cluster the keys of one command must share a hash slot; give them a common part in {braces}, as {user:1}:name and {user:1}:email"

// clusterScan reports a SCAN to be run on every master of a cluster:
// sent to one node, it would see that node's keys only.
func (c *Conn) clusterScan(cmd []string) bool {
	return c.cfg.Mode == ModeCluster && strings.EqualFold(cmd[0], "SCAN")
}

// scanCluster runs SCAN on every master of the cluster and answers every
// key matching with cursor 0, as one reply: a node's cursor means
// nothing to the others, so a scan starts and ends in one call, and more
// than kvdb.MaxScanIter keys are refused.
func (c *Conn) scanCluster(ctx context.Context, cmd []string) (kvdb.Result, error) {
	if len(cmd) < 2 || cmd[1] != "0" {
		return kvdb.Result{Err: kvdb.ReplyError("ERR in a Redis Cluster scan answers every key at once: call it with cursor 0, or call scan_iter")}, nil
	}
	var match string
	var count int64
	for i := 2; i+1 < len(cmd); i += 2 {
		switch strings.ToUpper(cmd[i]) {
		case "MATCH":
			match = cmd[i+1]
		case "COUNT":
			fmt.Sscan(cmd[i+1], &count)
		}
	}
	var mu sync.Mutex
	var keys []any
	errTooMany := kvdb.ReplyError(fmt.Sprintf("ERR more than %d keys match in the cluster: narrow the pattern", kvdb.MaxScanIter))
	err := c.client.(*goredis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
		var cursor uint64
		for {
			page, next, err := node.Scan(ctx, cursor, match, count).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range page {
				keys = append(keys, k)
			}
			n := len(keys)
			mu.Unlock()
			if n > kvdb.MaxScanIter {
				return errTooMany
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	})
	if err == errTooMany {
		return kvdb.Result{Err: errTooMany}, nil
	}
	if err != nil {
		return c.result(nil, err)
	}
	return kvdb.Result{Val: []any{"0", keys}}, nil
}
