//! The kit database (`harness::db`) speaks its protocol, enforces its
//! connection limit and injects its faults.

use std::time::Duration;

use harness::db::{Db, DbConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn open(db: &Db) -> Client {
        let (read, write) = TcpStream::connect(db.addr()).await.expect("connect").into_split();
        Client { lines: BufReader::new(read).lines(), write }
    }

    async fn say(&mut self, line: &str) -> String {
        self.write.write_all(format!("{line}\n").as_bytes()).await.expect("write");
        self.next().await
    }

    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("an answer within 5 s")
            .expect("read")
            .unwrap_or_else(|| "<eof>".into())
    }
}

fn quick() -> DbConfig {
    DbConfig::default().connect_cost(Duration::from_millis(5))
}

#[tokio::test]
async fn handshake_ping_query() {
    let db = Db::start(quick()).await.unwrap();
    let mut c = Client::open(&db).await;
    assert_eq!(c.say("HELLO app secret").await, "OK 1");
    assert_eq!(c.say("PING").await, "PONG");
    assert_eq!(c.say("QUERY select 1").await, "ROW select 1");
    assert_eq!(c.next().await, "DONE");
    assert!(c.say("DROP everything").await.starts_with("ERROR 42601 "));
    let s = db.stats();
    assert_eq!((s.opened, s.open, s.peak, s.queries), (1, 1, 1, 1));
}

#[tokio::test]
async fn refuses_beyond_max_connections_and_counts_closes() {
    let db = Db::start(quick().max_connections(2)).await.unwrap();
    let mut a = Client::open(&db).await;
    let mut b = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    assert!(b.say("HELLO app x").await.starts_with("OK "));
    let mut c = Client::open(&db).await;
    assert_eq!(c.say("HELLO app x").await, "ERROR 53300 sorry, too many clients already");
    assert_eq!(c.next().await, "<eof>");
    drop(a);
    db.wait_for(Duration::from_secs(2), |s| s.open == 1).await.expect("the closed session is counted");
    let mut d = Client::open(&db).await;
    assert!(d.say("HELLO app x").await.starts_with("OK "));
    let s = db.stats();
    assert_eq!((s.opened, s.peak, s.refused), (3, 2, 1));
}

#[tokio::test]
async fn faults() {
    let db = Db::start(quick()).await.unwrap();
    let mut a = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    db.drop_all();
    assert!(a.next().await.starts_with("ERROR 57P01 "));
    assert_eq!(a.next().await, "<eof>");
    db.wait_for(Duration::from_secs(2), |s| s.open == 0).await.expect("dropped sessions are closed");

    db.refuse_new(true);
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app x").await.starts_with("ERROR 57P03 "));
    db.refuse_new(false);
    let mut c = Client::open(&db).await;
    assert!(c.say("HELLO app x").await.starts_with("OK "));

    db.slow_queries(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(c.say("QUERY slow").await, "ROW slow");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn checks_the_password_when_one_is_set() {
    let db = Db::start(DbConfig { password: Some("right".into()), ..quick() }).await.unwrap();
    let mut a = Client::open(&db).await;
    assert_eq!(a.say("HELLO app wrong").await, "ERROR 28P01 password authentication failed for user \"app\"");
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app right").await.starts_with("OK "));
}

#[tokio::test]
async fn held_handshakes_wait_and_a_client_that_leaves_ends_its_session() {
    let db = Db::start(quick()).await.unwrap();
    db.hold_handshakes(true);
    let mut a = Client::open(&db).await;
    a.write.write_all(b"HELLO app x\n").await.unwrap();
    let mut b = Client::open(&db).await;
    b.write.write_all(b"HELLO app x\n").await.unwrap();
    let s = db.wait_for(Duration::from_secs(2), |s| s.handshaking == 2).await.expect("both held");
    assert_eq!((s.open, s.peak_handshaking, s.live_peak), (2, 2, 2));
    drop(b);
    db.wait_for(Duration::from_secs(2), |s| s.handshaking == 1 && s.open == 1).await.expect("b's session ends");
    db.hold_handshakes(false);
    assert!(a.next().await.starts_with("OK "));
    assert_eq!(db.stats().handshaking, 0);
}

#[tokio::test]
async fn live_peak_ignores_clients_that_hung_up() {
    let db = Db::start(quick()).await.unwrap();
    db.slow_queries(Duration::from_secs(5));
    let mut a = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    a.write.write_all(b"QUERY slow\n").await.unwrap();
    db.wait_for(Duration::from_secs(2), |s| s.queries == 1).await.expect("the query arrives");
    drop(a);
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app x").await.starts_with("OK "));
    assert_eq!(db.stats().live_peak, 1, "a hung-up client's session is not live");
    db.wait_for(Duration::from_secs(2), |s| s.open == 1).await.expect("the abandoned query's session ends early");
}

#[tokio::test]
async fn drops_one_session_and_slows_connects() {
    let db = Db::start(quick()).await.unwrap();
    let mut a = Client::open(&db).await;
    assert_eq!(a.say("HELLO app x").await, "OK 1");
    let mut b = Client::open(&db).await;
    assert_eq!(b.say("HELLO app x").await, "OK 2");
    assert_eq!(db.sessions(), [1, 2]);
    assert!(db.drop_session(1));
    assert!(a.next().await.starts_with("ERROR 57P01 "));
    assert_eq!(a.next().await, "<eof>");
    assert_eq!(b.say("PING").await, "PONG");
    assert!(!db.drop_session(7));
    db.slow_connects(Duration::from_millis(120));
    let started = std::time::Instant::now();
    let mut c = Client::open(&db).await;
    assert!(c.say("HELLO app x").await.starts_with("OK "));
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn live_counts_above_the_limit_are_confirmed_before_they_count() {
    let db = Db::start(quick()).await.unwrap();
    db.verify_live_above(1);
    let mut a = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app x").await.starts_with("OK "));
    assert_eq!(db.live_peak().await, 2, "two clients that stay are two");
    drop((a, b));
}

#[tokio::test]
async fn a_dropped_session_is_gone_only_once_its_client_can_read_the_goodbye() {
    let db = Db::start(quick()).await.unwrap();
    let mut a = Client::open(&db).await;
    assert_eq!(a.say("HELLO app x").await, "OK 1");
    db.drop_session(1);
    db.wait_for(Duration::from_secs(2), |s| s.open == 0).await.expect("closed");
    // Already in the client's receive buffer: a non-blocking read sees it.
    let mut buf = [0u8; 128];
    let n = a.lines.get_ref().get_ref().try_read(&mut buf).expect("the goodbye is there");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("ERROR 57P01 "));
}
