-- sysbench script for bench/scatter.sh: every event is one text query, --query.
-- sysbench bench/scatter.lua --query='SELECT ...' --mysql-... --threads=8 --time=10 run
sysbench.cmdline.options = {
    query = {"the statement each event runs", "SELECT 1"},
}

function thread_init()
    drv = sysbench.sql.driver()
    con = drv:connect()
end

function thread_done()
    con:disconnect()
end

function event()
    con:query(sysbench.opt.query)
end
