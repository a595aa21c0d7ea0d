"""/healthz for load balancers: 200 while the database answers, 503 when it does not."""

from gallery import create_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_unhealthy_database_is_503(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app({"DATABASE_URL": url}, instance_path=tmp_path)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and response.json["error"]
