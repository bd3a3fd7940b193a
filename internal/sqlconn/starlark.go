package sqlconn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/internal/starlark/stdlib"
	"github.com/plexushq/plexus/sdk/service"
)

// starlarkValue is self.out.sql["Name"] of a Starlark service; its conn
// has execute, one, scalar and transaction.
func starlarkValue(c *service.Context, name string, resource any) (sl.Value, error) {
	var ctx context.Context = c
	if c.Context == nil {
		ctx = context.Background()
	}
	return &starConn{ctx: ctx, name: name, d: resource.(*Database), top: true}, nil
}

// starConn is self.out.sql["Name"] (the sql struct, its name and conn)
// and its conn (sql_conn), or a transaction's (sql_transaction) when
// tx is set. Each attribute is made when a service reads it: a service
// uses one or two of them per request. They print and compare as the
// structs they stand for.
type starConn struct {
	ctx  context.Context
	name string
	d    *Database
	tx   *Tx
	top  bool // the sql struct rather than its conn
}

var _ sl.HasAttrs = (*starConn)(nil)

var (
	topAttrs  = []string{"conn", "name"}
	connAttrs = []string{"execute", "one", "scalar", "transaction"}
	txAttrs   = []string{"execute", "one", "scalar"}
)

func (c *starConn) String() string        { return c.asStruct().String() }
func (c *starConn) Type() string          { return "struct" }
func (c *starConn) Freeze()               {}
func (c *starConn) Truth() sl.Bool        { return sl.True }
func (c *starConn) Hash() (uint32, error) { return c.asStruct().Hash() }

func (c *starConn) AttrNames() []string {
	switch {
	case c.top:
		return topAttrs
	case c.tx != nil:
		return txAttrs
	}
	return connAttrs
}

func (c *starConn) Attr(name string) (sl.Value, error) {
	if c.top {
		switch name {
		case "name":
			return sl.String(c.name), nil
		case "conn":
			return &starConn{ctx: c.ctx, name: c.name, d: c.d}, nil
		}
		return nil, nil
	}
	prefix := "conn"
	if c.tx != nil {
		prefix = "tx"
	} else if name == "transaction" {
		return sl.NewBuiltin("transaction", c.transaction), nil
	}
	if fn := statementFuncs[name]; fn != nil {
		return sl.NewBuiltin(prefix+"."+name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			r, err := c.call(th, b, args, kwargs)
			if err != nil {
				return nil, err
			}
			return fn(th, b, r)
		}), nil
	}
	return nil, nil
}

// asStruct returns the struct c stands for, with all its attributes.
func (c *starConn) asStruct() *starlarkstruct.Struct {
	d := sl.StringDict{}
	for _, n := range c.AttrNames() {
		d[n], _ = c.Attr(n)
	}
	typ := "sql_conn"
	switch {
	case c.top:
		typ = "sql"
	case c.tx != nil:
		typ = "sql_transaction"
	}
	return starlarkstruct.FromStringDict(sl.String(typ), d)
}

// transaction runs fn with a transaction, committed when fn returns and
// rolled back when it fails.
func (c *starConn) transaction(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var fn sl.Callable
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "fn", &fn); err != nil {
		return nil, err
	}
	t, err := c.d.BeginSQL(c.ctx)
	if err != nil {
		return nil, err
	}
	tx := t.(*Tx)
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	v, err := sl.Call(th, fn, sl.Tuple{&starConn{ctx: c.ctx, name: c.name, d: c.d, tx: tx}}, nil)
	if err != nil {
		return nil, err // rolled back
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return v, nil
}

// call runs the statement of a call of execute, one or scalar.
func (c *starConn) call(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (*result, error) {
	var query string
	var params *sl.Dict
	var timeout, maxRows sl.Value = sl.None, sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "query", &query, "params?", &params, "timeout?", &timeout, "max_rows?", &maxRows); err != nil {
		return nil, err
	}
	q := &service.SQLQuery{Query: query}
	var err error
	if q.Params, err = goParams(th, params); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if timeout != sl.None {
		f, ok := sl.AsFloat(timeout)
		if !ok || f <= 0 || math.IsInf(f, 0) || f > 86400 {
			return nil, fmt.Errorf("%s: timeout must be a number of seconds above 0 and at most 86400, not %s", b.Name(), timeout)
		}
		q.Timeout = time.Duration(f * float64(time.Second))
	}
	if maxRows != sl.None {
		n, err := sl.AsInt32(maxRows)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: max_rows must be an int above 0, not %s", b.Name(), maxRows)
		}
		q.MaxRows = n
	}
	if c.tx != nil {
		return c.tx.query(c.ctx, q)
	}
	return c.d.exec(c.ctx, q)
}

// statementFuncs turn a statement's result into what execute, one and
// scalar return.
var statementFuncs = map[string]func(*sl.Thread, *sl.Builtin, *result) (sl.Value, error){
	"execute": func(th *sl.Thread, _ *sl.Builtin, r *result) (sl.Value, error) {
		if r.Columns == nil {
			return sl.MakeInt64(r.RowsAffected), nil
		}
		return starlarkRows(th, r)
	},
	"one": func(th *sl.Thread, b *sl.Builtin, r *result) (sl.Value, error) {
		if _, err := r.One(); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if len(r.Rows) == 0 {
			return sl.None, nil
		}
		return starlarkRow(th, r, 0)
	},
	"scalar": func(th *sl.Thread, b *sl.Builtin, r *result) (sl.Value, error) {
		if _, err := r.One(); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if len(r.Rows) == 0 || len(r.Columns) == 0 {
			return sl.None, nil
		}
		return starlarkCell(th, r.classes[0], r.Rows[0][r.Columns[0]])
	},
}

// goParams converts a Starlark dict of parameters.
func goParams(th *sl.Thread, params *sl.Dict) (map[string]any, error) {
	if params == nil {
		return nil, nil
	}
	out := make(map[string]any, params.Len())
	for k, v := range params.Entries() {
		name, ok := k.(sl.String)
		if !ok {
			return nil, fmt.Errorf("params: the key %s is a %s; name parameters with strings", k, k.Type())
		}
		g, err := goValue(th, v)
		if err != nil {
			return nil, fmt.Errorf("params[%q]: %w", string(name), err)
		}
		out[string(name)] = g
	}
	return out, nil
}

// goValue converts one parameter's value.
func goValue(th *sl.Thread, v sl.Value) (any, error) {
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case sl.Bool:
		return bool(x), nil
	case sl.Int:
		if i, ok := x.Int64(); ok {
			return i, nil
		}
		return x.BigInt(), nil
	case sl.Float:
		return float64(x), nil
	case sl.String:
		return string(x), nil
	case sl.Bytes:
		return []byte(x), nil
	case stdlib.Decimal:
		return json.Number(x.String()), nil
	case stdlib.Time:
		return time.Time(x), nil
	}
	return starlark.FromStarlark(memlimit.Of(th), v) // dicts and lists: sent as JSON
}

// rowCost is what a row's dict takes, besides its values.
const rowCost = 64

// starlarkRows converts a result's rows to a list of dicts.
func starlarkRows(th *sl.Thread, r *result) (sl.Value, error) {
	if err := memlimit.Of(th).Charge(memlimit.ListCost(int64(len(r.Rows))), "reading SQL rows"); err != nil {
		return nil, err
	}
	out := make([]sl.Value, len(r.Rows))
	for i := range r.Rows {
		row, err := starlarkRow(th, r, i)
		if err != nil {
			return nil, err
		}
		out[i] = row
	}
	return sl.NewList(out), nil
}

// starlarkRow converts one row to a dict, its keys in the columns' order.
func starlarkRow(th *sl.Thread, r *result, i int) (sl.Value, error) {
	a := memlimit.Of(th)
	if err := a.Charge(rowCost*int64(1+len(r.Columns)), "reading SQL rows"); err != nil {
		return nil, err
	}
	d := sl.NewDict(len(r.Columns))
	for j, col := range r.Columns {
		v, err := starlarkCell(th, r.classes[j], r.Rows[i][col])
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", col, err)
		}
		d.SetKey(sl.String(col), v)
	}
	return d, nil
}

// starlarkCell converts one value of a column.
func starlarkCell(th *sl.Thread, c class, v any) (sl.Value, error) {
	a := memlimit.Of(th)
	switch x := v.(type) {
	case nil:
		return sl.None, nil
	case bool:
		return sl.Bool(x), nil
	case int64:
		return sl.MakeInt64(x), nil
	case uint64:
		return sl.MakeUint64(x), nil
	case float64:
		return sl.Float(x), nil
	case string:
		return sl.String(x), a.Charge(memlimit.StringCost(int64(len(x))), "reading SQL rows")
	case []byte:
		return sl.Bytes(x), a.Charge(memlimit.StringCost(int64(len(x))), "reading SQL rows")
	case time.Time:
		return stdlib.Time(x), nil
	case json.Number:
		if c == classDecimal {
			if d, err := stdlib.ParseDecimal(x.String()); err == nil {
				return d, a.Charge(int64(len(x)), "reading SQL rows")
			}
			f, _ := strconv.ParseFloat(x.String(), 64) // NaN, Infinity
			return sl.Float(f), nil
		}
	case *big.Int:
		return sl.MakeBigInt(x), nil
	}
	return starlark.ToStarlark(a, v)
}
