window.YTD.like.part0 = [
  {
    "like" : {
      "tweetId" : "1790000000000000900",
      "fullText" : "A post the account owner liked",
      "expandedUrl" : "https://twitter.com/i/web/status/1790000000000000900"
    }
  }
]
