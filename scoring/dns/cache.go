package dns

import (
	"container/list"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// answer is what one question got from upstream, in the form the cache
// keeps: the records of the asked type (CNAME chain followed), or a
// negative answer.
type answer struct {
	records []mdns.RR
	// nxdomain is set when the name does not exist; a NOERROR answer with
	// no record of the asked type (NODATA) has records == nil and nxdomain
	// unset. Both are "not found" to callers.
	nxdomain bool
}

func (a *answer) notFound() bool { return a.nxdomain || len(a.records) == 0 }

// cache is a bounded map of answers that evicts the least recently used
// entry when full. LRU rather than random eviction: the same few names
// (DNSBL zones for a busy sender, the SPF records of big senders) are asked
// over and over, and LRU keeps exactly those. Expired entries are dropped
// when they are met (on a get, or at the back of the list while evicting).
type cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	ans     *answer
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), items: make(map[string]*list.Element)}
}

// get returns the answer for key if it is cached and has not expired.
func (c *cache) get(key string, now time.Time) (*answer, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return e.ans, true
}

// put stores ans until now+ttl. A zero ttl is not stored (RFC 1035 §3.2.1:
// TTL 0 means "use only for the transaction in progress").
func (c *cache) put(key string, ans *answer, ttl time.Duration, now time.Time) {
	if c == nil || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.ans, e.expires = ans, now.Add(ttl)
		c.ll.MoveToFront(el)
		return
	}
	for c.ll.Len() >= c.max {
		back := c.ll.Back()
		c.ll.Remove(back)
		delete(c.items, back.Value.(*cacheEntry).key)
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, ans: ans, expires: now.Add(ttl)})
}

// len is the number of entries held, expired ones included.
func (c *cache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
