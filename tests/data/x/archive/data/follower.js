window.YTD.follower.part0 = [
  {
    "follower" : {
      "accountId" : "1200000000000104729",
      "userLink" : "https://twitter.com/intent/user?user_id=1200000000000104729"
    }
  },
  {
    "follower" : {
      "accountId" : "1200000000000733103",
      "userLink" : "https://twitter.com/intent/user?user_id=1200000000000733103"
    }
  },
  {
    "follower" : {
      "accountId" : "44196397",
      "userLink" : "https://twitter.com/intent/user?user_id=44196397"
    }
  }
]
