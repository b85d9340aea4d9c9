window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "hello@harborpine.example",
      "createdVia" : "web",
      "username" : "harborpine",
      "accountId" : "1500000000000000001",
      "createdAt" : "2019-05-02T10:00:00.000Z",
      "accountDisplayName" : "Harbor & Pine Studio"
    }
  }
]
