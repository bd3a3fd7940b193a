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
	d := resource.(*Database)
	var ctx context.Context = c
	if c.Context == nil {
		ctx = context.Background()
	}
	run := func(th *sl.Thread, q *service.SQLQuery) (*result, error) { return d.exec(ctx, q) }
	conn := statements("conn", run)
	conn["transaction"] = sl.NewBuiltin("transaction", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var fn sl.Callable
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "fn", &fn); err != nil {
			return nil, err
		}
		t, err := d.BeginSQL(ctx)
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
		txv := starlarkstruct.FromStringDict(sl.String("sql_transaction"), statements("tx",
			func(th *sl.Thread, q *service.SQLQuery) (*result, error) { return tx.d.query(ctx, tx.tx, q) }))
		v, err := sl.Call(th, fn, sl.Tuple{txv}, nil)
		if err != nil {
			return nil, err // rolled back
		}
		committed = true
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		return v, nil
	})
	return starlarkstruct.FromStringDict(sl.String("sql"), sl.StringDict{
		"name": sl.String(name),
		"conn": starlarkstruct.FromStringDict(sl.String("sql_conn"), conn),
	}), nil
}

// statements returns execute, one and scalar running on run.
func statements(prefix string, run func(*sl.Thread, *service.SQLQuery) (*result, error)) sl.StringDict {
	call := func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (*result, error) {
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
		return run(th, q)
	}
	return sl.StringDict{
		"execute": sl.NewBuiltin(prefix+".execute", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			r, err := call(th, b, args, kwargs)
			if err != nil {
				return nil, err
			}
			if r.Columns == nil {
				return sl.MakeInt64(r.RowsAffected), nil
			}
			return starlarkRows(th, r)
		}),
		"one": sl.NewBuiltin(prefix+".one", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			r, err := call(th, b, args, kwargs)
			if err != nil {
				return nil, err
			}
			if _, err := r.One(); err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			if len(r.Rows) == 0 {
				return sl.None, nil
			}
			return starlarkRow(th, r, 0)
		}),
		"scalar": sl.NewBuiltin(prefix+".scalar", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			r, err := call(th, b, args, kwargs)
			if err != nil {
				return nil, err
			}
			if _, err := r.One(); err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			if len(r.Rows) == 0 || len(r.Columns) == 0 {
				return sl.None, nil
			}
			return starlarkCell(th, r.classes[0], r.Rows[0][r.Columns[0]])
		}),
	}
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
